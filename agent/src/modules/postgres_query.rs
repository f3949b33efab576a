//! `postgres_query`: run SQL through `psql` and return the rows.
//!
//! Whether a statement writes is decided by PostgreSQL itself, not by guessing from the
//! text: the SQL first runs inside `BEGIN READ ONLY ... ROLLBACK`. If that succeeds the
//! query is read-only — it runs in check mode too and reports no change. If the server
//! refuses it as a write (SQLSTATE 25006, or 25001 for statements that cannot run in a
//! transaction), check mode reports "would run" and apply runs it for real.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::opt_bool_ish;
use super::pg::{self, PgConn, PgError, Rows};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `postgres_query` module.
pub struct PostgresQuery;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySpec {
    #[serde(alias = "query")]
    sql: String,
    #[serde(alias = "login_db")]
    db: Option<String>,
    #[serde(alias = "login_host", alias = "login_unix_socket")]
    host: Option<String>,
    #[serde(alias = "login_port")]
    port: Option<u16>,
    login_user: Option<String>,
    conninfo: Option<String>,
    os_user: Option<String>,
    pg_version: Option<String>,
    /// `true`: must not write (fails if it does); `false`: treat as a write, never run in
    /// check mode; unset: ask the server.
    #[serde(default, deserialize_with = "opt_bool_ish")]
    read_only: Option<bool>,
}

impl Module for PostgresQuery {
    fn name(&self) -> &'static str {
        "postgres_query"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "sql",
            "query",
            "db",
            "login_db",
            "host",
            "login_host",
            "login_unix_socket",
            "port",
            "login_port",
            "login_user",
            "conninfo",
            "os_user",
            "pg_version",
            "read_only",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: QuerySpec = parse_args("postgres_query", args)?;
        let conn = PgConn {
            bin: pg::bin_dir(None, spec.pg_version.as_deref(), None).ok(),
            host: spec.host,
            port: spec.port,
            db: spec.db,
            login_user: spec.login_user,
            os_user: pg::os_user(spec.os_user.as_deref(), spec.conninfo.as_deref()),
            conninfo: spec.conninfo,
            env: ctx.environment.to_vec(),
        };
        let sql = spec.sql;
        if spec.read_only != Some(false) {
            match conn.query(&sql, true) {
                Ok(rows) => return Ok(Plan::done(result(&sql, rows, true, false))),
                Err(PgError::Sql {
                    code: Some(code), ..
                }) if spec.read_only.is_none() && (code == "25006" || code == "25001") => {}
                Err(e @ PgError::Sql { .. }) => {
                    let mut o = Outcome::failed(e.to_string());
                    o.data.insert("query".into(), Json::from(sql));
                    return Ok(Plan::done(o));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut outcome = Outcome {
            changed: true,
            msg: format!("would run (writes): {}", one_line(&sql)),
            ..Outcome::default()
        };
        outcome.data.insert("query".into(), Json::from(sql.clone()));
        Ok(Plan::change(outcome, Write { conn, sql }))
    }
}

/// Runs a writing query.
struct Write {
    conn: PgConn,
    sql: String,
}

impl Action for Write {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        match self.conn.query(&self.sql, false) {
            Ok(rows) => Ok(result(&self.sql, rows, false, true)),
            Err(e @ PgError::Sql { .. }) => {
                let mut o = Outcome::failed(e.to_string());
                o.data.insert("query".into(), Json::from(self.sql));
                Ok(o)
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn result(sql: &str, rows: Rows, read_only: bool, changed: bool) -> Outcome {
    let mut data = Map::new();
    data.insert("query".into(), Json::from(sql));
    data.insert("read_only".into(), Json::Bool(read_only));
    data.insert("rowcount".into(), Json::from(rows.rows.len()));
    data.insert("columns".into(), Json::from(rows.columns));
    data.insert(
        "rows".into(),
        Json::Array(rows.rows.into_iter().map(Json::Object).collect()),
    );
    Outcome {
        changed,
        msg: if read_only {
            "read-only query".into()
        } else {
            format!("ran: {}", one_line(sql))
        },
        data,
        ..Outcome::default()
    }
}

fn one_line(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(117).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::PostgresQuery;
    use crate::modules::pgtest::Cluster;
    use crate::modules::testutil::Harness;

    fn args(c: &Cluster, sql: &str) -> serde_json::Value {
        let mut a = c.conn_args();
        a["sql"] = json!(sql);
        a
    }

    #[test]
    fn read_only_queries_run_in_check_mode_and_return_rows() {
        let c = Cluster::primary();
        let h = Harness::new();
        let plan = h.check(
            &PostgresQuery,
            args(
                &c,
                "SELECT 1 AS n, NULL::text AS nothing, '' AS empty, 'a,b' AS s",
            ),
        );
        let o = plan.outcome;
        assert!(
            plan.action.is_none() && !o.changed && !o.failed,
            "{}",
            o.msg
        );
        assert_eq!(
            o.data["rows"],
            json!([{"n": "1", "nothing": null, "empty": "", "s": "a,b"}])
        );
        assert_eq!(o.data["rowcount"], json!(1));
        assert_eq!(o.data["read_only"], json!(true));
    }

    #[test]
    fn writes_are_planned_in_check_mode_and_run_in_apply() {
        let c = Cluster::primary();
        c.sql("CREATE TABLE cdr (id int)");
        let h = Harness::new();
        let insert = args(&c, "INSERT INTO cdr VALUES (1), (2) RETURNING id");
        let plan = h.check(&PostgresQuery, insert.clone());
        assert!(plan.outcome.changed && plan.action.is_some());
        assert!(
            plan.outcome.msg.starts_with("would run (writes): INSERT"),
            "{}",
            plan.outcome.msg
        );
        assert_eq!(c.sql("SELECT count(*) FROM cdr"), "0", "check mode wrote");
        let o = h.apply(&PostgresQuery, insert);
        assert!(o.changed && !o.failed, "{}", o.msg);
        assert_eq!(o.data["rows"], json!([{"id": "1"}, {"id": "2"}]));
        assert_eq!(c.sql("SELECT count(*) FROM cdr"), "2");
        // A read after the write: no change, both modes.
        let count = h.apply(&PostgresQuery, args(&c, "SELECT count(*) AS n FROM cdr"));
        assert!(!count.changed);
        assert_eq!(count.data["rows"][0]["n"], json!("2"));
        // Statements that cannot run in a transaction block are writes too.
        let vacuum = h.check(&PostgresQuery, args(&c, "VACUUM cdr"));
        assert!(vacuum.outcome.changed);
        // read_only: true refuses a write instead of running it.
        let mut ro = args(&c, "DELETE FROM cdr");
        ro["read_only"] = json!(true);
        let o = h.apply(&PostgresQuery, ro);
        assert!(
            o.failed && o.msg.contains("read-only transaction"),
            "{}",
            o.msg
        );
        assert_eq!(c.sql("SELECT count(*) FROM cdr"), "2");
    }

    #[test]
    fn sql_errors_fail_the_task_and_a_dead_server_is_named() {
        let c = Cluster::primary();
        let h = Harness::new();
        let o = h.apply(&PostgresQuery, args(&c, "SELECT nope FROM nowhere"));
        assert!(
            o.failed && o.msg.contains("relation \"nowhere\" does not exist"),
            "{}",
            o.msg
        );
        let port = c.port;
        let a = args(&c, "SELECT 1");
        c.kill();
        let e = h.check_err(&PostgresQuery, a);
        assert!(
            e.contains("cannot connect to PostgreSQL") && e.contains(&port.to_string()),
            "{e}"
        );
        assert!(
            h.check_err(&PostgresQuery, json!({"sql": "x", "dbname": "y"}))
                .contains("unknown field")
        );
    }
}
