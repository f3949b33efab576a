//! `postgres_facts`: the replication state of a local PostgreSQL server as the fact
//! `postgres` (running, in_recovery, replay lag, last replay timestamp, timeline, the WAL
//! receiver). Reads only: the same in check mode, never a change.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::pg::{self, PgConn, PgError};
use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `postgres_facts` module.
pub struct PostgresFacts;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsSpec {
    data_dir: Option<String>,
    #[serde(alias = "login_host", alias = "login_unix_socket")]
    host: Option<String>,
    #[serde(alias = "login_port")]
    port: Option<u16>,
    #[serde(alias = "login_db")]
    db: Option<String>,
    login_user: Option<String>,
    conninfo: Option<String>,
    os_user: Option<String>,
    pg_version: Option<String>,
    pg_ctl: Option<String>,
}

impl Module for PostgresFacts {
    fn name(&self) -> &'static str {
        "postgres_facts"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "data_dir",
            "host",
            "login_host",
            "login_unix_socket",
            "port",
            "login_port",
            "db",
            "login_db",
            "login_user",
            "conninfo",
            "os_user",
            "pg_version",
            "pg_ctl",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: FactsSpec = parse_args("postgres_facts", args)?;
        let data_dir = spec.data_dir.as_deref().map(Path::new);
        let bin = pg::bin_dir(spec.pg_ctl.as_deref(), spec.pg_version.as_deref(), data_dir).ok();
        let os_user = pg::os_user(spec.os_user.as_deref(), spec.conninfo.as_deref());
        let conn = match (data_dir, &bin) {
            (Some(d), Some(b)) if spec.conninfo.is_none() => {
                if pg::postmaster(d).is_none() {
                    return Ok(Plan::done(facts(pg::down_facts(), "not running")));
                }
                let mut c = pg::local_conn(b, d, spec.host.as_deref(), spec.port, os_user);
                c.db = spec.db.or(c.db);
                c.login_user = spec.login_user;
                c.env = ctx.environment.to_vec();
                c
            }
            _ => PgConn {
                bin,
                host: spec.host,
                port: spec.port,
                db: spec.db,
                login_user: spec.login_user,
                os_user,
                conninfo: spec.conninfo,
                env: ctx.environment.to_vec(),
            },
        };
        match conn.row(pg::STATE_SQL) {
            Ok(row) => {
                let f = pg::state_facts(&row);
                let role = if f["in_recovery"] == Json::Bool(true) {
                    "standby"
                } else {
                    "primary"
                };
                Ok(Plan::done(facts(f, role)))
            }
            Err(PgError::Connect { msg, .. }) => {
                let mut f = pg::down_facts();
                f.insert("error".into(), Json::from(msg));
                Ok(Plan::done(facts(f, "not running")))
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn facts(f: Map<String, Json>, msg: &str) -> Outcome {
    let mut o = Outcome::ok(format!("PostgreSQL: {msg}"));
    o.data.insert("postgres".into(), Json::Object(f.clone()));
    o.facts.insert("postgres".into(), Json::Object(f));
    o
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::PostgresFacts;
    use crate::modules::pgtest::Cluster;
    use crate::modules::testutil::Harness;

    #[test]
    fn primary_standby_and_stopped_servers() {
        let primary = Cluster::primary();
        let standby = Cluster::standby_of(&primary);
        standby.wait_for("SELECT status FROM pg_stat_wal_receiver", "streaming");
        let h = Harness::new();

        let p = h.check(&PostgresFacts, json!({"data_dir": primary.data_str()}));
        assert!(!p.outcome.changed && p.action.is_none());
        let f = &p.outcome.facts["postgres"];
        assert_eq!(f["running"], json!(true));
        assert_eq!(f["in_recovery"], json!(false));
        assert_eq!(f["timeline"], json!(1));
        assert_eq!(f["wal_receiver"], json!(null));

        primary.sql("CREATE TABLE t AS SELECT 1");
        standby.wait_for("SELECT count(*) FROM pg_class WHERE relname = 't'", "1");
        let s = h.apply(&PostgresFacts, standby.conn_args());
        let f = &s.facts["postgres"];
        assert_eq!(f["in_recovery"], json!(true), "{f}");
        assert!(f["replay_lag_seconds"].is_number(), "{f}");
        assert!(
            f["last_replay_timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with("+00")),
            "{f}"
        );
        assert_eq!(f["timeline"], json!(1));
        assert_eq!(f["wal_receiver"]["status"], json!("streaming"));
        assert_eq!(f["wal_receiver"]["sender_port"], json!(primary.port));
        assert_eq!(s.msg, "PostgreSQL: standby");

        let args = json!({"data_dir": standby.data_str()});
        standby.kill();
        let down = h.apply(&PostgresFacts, args);
        assert_eq!(down.facts["postgres"]["running"], json!(false));
        assert!(!down.failed && !down.changed);
    }
}
