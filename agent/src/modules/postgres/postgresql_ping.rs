//! `postgresql_ping` (community.postgresql): whether the server accepts a connection, and
//! its version. As the collection: a failed connection is not a failure, it returns
//! `is_available: false` with the reason in `conn_err_msg`; `server_version` is
//! `{major, minor, [patch,] full, raw}` read from `SELECT version()`. Never a change; the
//! same in check mode (it only reads).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient;

/// The `postgresql_ping` module.
pub struct PostgresqlPing;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingSpec {
    #[serde(default, alias = "login_db", deserialize_with = "opt_text")]
    db: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
}

const OWN_ARGS: &[&str] = &["db", "login_db", "session_role", "trust_input"];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

impl Module for PostgresqlPing {
    fn name(&self) -> &'static str {
        "postgresql_ping"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_ping", args, ctx.environment, ctx.become_user)?;
        let spec: PingSpec = parse_args("postgresql_ping", &rest)?;
        if !spec.trust_input {
            pg_login::check_input(&[spec.session_role.as_deref().unwrap_or_default()])?;
        }
        let (mut available, mut version, mut err) = (false, Map::new(), String::new());
        match pgclient::connect(&login.conn(spec.db.as_deref())) {
            Err(e) => err = e.to_string(),
            Ok(mut session) => {
                if let Some(role) = &spec.session_role {
                    session
                        .batch(&format!("SET ROLE \"{role}\""))
                        .map_err(|e| ModuleError::Failed(format!("Could not switch role: {e}")))?;
                }
                let raw = session.scalar("SELECT version()").map_err(|e| {
                    ModuleError::Failed(format!("Cannot execute SQL 'SELECT version()': {e}"))
                })?;
                if let Some(raw) = raw.as_str().filter(|r| !r.is_empty()) {
                    available = true;
                    version = parse_version(raw);
                }
            }
        }
        let mut o = Outcome::ok(if available {
            "PostgreSQL is available"
        } else {
            "PostgreSQL is unavailable"
        });
        o.data.insert("is_available".into(), Json::Bool(available));
        o.data
            .insert("server_version".into(), Json::Object(version));
        o.data.insert("conn_err_msg".into(), Json::from(err));
        Ok(Plan::done(o))
    }
}

/// `PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64...` → major 15, minor 8, full `15.8`.
fn parse_version(raw: &str) -> Map<String, Json> {
    let mut v = Map::new();
    let full = raw.split_whitespace().nth(1).unwrap_or_default();
    let nums: Vec<u64> = full
        .split('.')
        .map_while(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .take(3)
        .collect();
    if nums.len() >= 2 {
        v.insert("major".into(), Json::from(nums[0]));
        v.insert("minor".into(), Json::from(nums[1]));
    }
    v.insert("full".into(), Json::from(full));
    v.insert("raw".into(), Json::from(raw));
    if let Some(p) = nums.get(2) {
        v.insert("patch".into(), Json::from(*p));
    }
    v
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{PostgresqlPing, parse_version};
    use crate::modules::pgtest::{Cluster, free_port};
    use crate::modules::testutil::Harness;

    #[test]
    fn versions_as_the_collection_reads_them() {
        let v = parse_version("PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64-pc-linux-gnu");
        assert_eq!(v["major"], json!(15));
        assert_eq!(v["minor"], json!(8));
        assert_eq!(v["full"], json!("15.8"));
        assert!(v.get("patch").is_none());
        assert_eq!(parse_version("PostgreSQL 9.6.24 on x")["patch"], json!(24));
    }

    #[test]
    fn available_and_unavailable_servers() {
        let c = Cluster::primary();
        let h = Harness::new();
        let a = json!({"login_unix_socket": c.sock.display().to_string(), "port": c.port});
        for check in [true, false] {
            let o = if check {
                h.check(&PostgresqlPing, a.clone()).outcome
            } else {
                h.apply(&PostgresqlPing, a.clone())
            };
            assert!(!o.changed && !o.failed, "{}", o.msg);
            assert_eq!(o.data["is_available"], json!(true));
            assert_eq!(o.data["server_version"]["major"], json!(15), "{:?}", o.data);
            assert_eq!(o.data["conn_err_msg"], json!(""));
        }
        let down = json!({"login_host": "127.0.0.1", "port": free_port()});
        let o = h.apply(&PostgresqlPing, down);
        assert!(!o.failed && !o.changed);
        assert_eq!(o.data["is_available"], json!(false));
        assert_eq!(o.data["server_version"], json!({}));
        assert!(
            o.data["conn_err_msg"]
                .as_str()
                .is_some_and(|m| m.contains("127.0.0.1")),
            "{:?}",
            o.data
        );
    }
}
