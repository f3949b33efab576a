//! `postgres_query`: run SQL through `psql` and return the rows. The SQL reaches psql on
//! its standard input and a connection string's password through `PGPASSWORD`: neither is
//! ever on a command line, where `ps` shows it to every user of the host.
//!
//! In check mode (`dr plan`) the SQL runs only when the author declared it read-only:
//! `read_only: true`, or `check_mode: false` on the task (then the task runs for real, as
//! in Ansible). Anything else is reported as "would run" with the SQL and not sent: a
//! read-only transaction does not make a statement harmless (`COPY ... TO PROGRAM`,
//! `pg_terminate_backend()`, `nextval()`, `dblink` all act inside one).
//!
//! With `read_only: true` the SQL runs inside `BEGIN READ ONLY ... ROLLBACK` in both modes,
//! so a statement that writes fails instead of writing. Outside check mode, undeclared SQL
//! is first tried the same way: if PostgreSQL accepts it there it is reported as no change;
//! if it refuses it as a write (SQLSTATE 25006, or 25001 for statements that cannot run in
//! a transaction), it runs for real and reports a change.

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
    /// `true`: declared read-only by the author: runs in check mode too, inside a read-only
    /// transaction (a write fails); `false`: a write, never run in check mode; unset: not
    /// run in check mode, and outside it PostgreSQL tells whether it writes.
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
        let declared = spec.read_only == Some(true);
        if declared || (spec.read_only.is_none() && !ctx.check_mode) {
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
        let msg = if ctx.check_mode && spec.read_only.is_none() {
            format!(
                "would run (not declared read-only: `read_only: true` runs it in check mode): {}",
                one_line(&sql)
            )
        } else {
            format!("would run (writes): {}", one_line(&sql))
        };
        let mut outcome = Outcome {
            changed: true,
            msg,
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
    fn declared_read_only_queries_run_in_check_mode_and_return_rows() {
        let c = Cluster::primary();
        let h = Harness::new();
        let mut select = args(
            &c,
            "SELECT 1 AS n, NULL::text AS nothing, '' AS empty, 'a,b' AS s",
        );
        select["read_only"] = json!(true);
        let plan = h.check(&PostgresQuery, select);
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
            plan.outcome
                .msg
                .starts_with("would run (not declared read-only")
                && plan
                    .outcome
                    .msg
                    .ends_with(": INSERT INTO cdr VALUES (1), (2) RETURNING id"),
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
        // Nor can it end the read-only transaction and write in the next one.
        for sql in [
            "COMMIT; DELETE FROM cdr",
            "ROLLBACK; BEGIN; DELETE FROM cdr; COMMIT",
        ] {
            let mut ro = args(&c, sql);
            ro["read_only"] = json!(true);
            let o = h.apply(&PostgresQuery, ro);
            assert!(
                o.failed && o.msg.contains("read-only transaction"),
                "{sql}: {}",
                o.msg
            );
            assert_eq!(c.sql("SELECT count(*) FROM cdr"), "2", "{sql}");
        }
    }

    /// Statements a read-only transaction lets through, each leaving a trace when it runs.
    #[test]
    fn check_mode_sends_no_sql_the_author_did_not_declare_read_only() {
        let c = Cluster::primary();
        let h = Harness::new();
        let dir = crate::modules::pgtest::owned_tempdir();
        let proof = dir.path().join("ran");
        let copy = format!("COPY (SELECT 1) TO PROGRAM 'touch {}'", proof.display());
        let plan = h.check(&PostgresQuery, args(&c, &copy));
        assert!(plan.outcome.changed && plan.action.is_some());
        assert!(plan.outcome.msg.ends_with(&copy), "{}", plan.outcome.msg);
        assert_eq!(plan.outcome.data["query"], json!(copy));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!proof.exists(), "check mode ran `{copy}`");

        // A session the plan must not end.
        let mut session = crate::modules::hostcmd::command_as(
            crate::modules::pgtest::pg_user(),
            crate::modules::pgtest::bin().join("psql"),
        );
        session
            .current_dir("/")
            .args(["-X", "-q", "-d", "postgres", "-h"])
            .arg(&c.sock)
            .args([
                "-p",
                &c.port.to_string(),
                "-c",
                "SELECT pg_sleep(60) AS waiting",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut session = session.spawn().unwrap_or_else(|e| panic!("psql: {e}"));
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS waiting'";
        for _ in 0..100 {
            if c.sql(waiting) == "1" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(c.sql(waiting), "1", "the session did not start");
        let terminate =
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%AS waiting'";
        let plan = h.check(&PostgresQuery, args(&c, terminate));
        assert!(plan.outcome.changed && plan.action.is_some());
        std::thread::sleep(std::time::Duration::from_millis(200));
        let alive = session.try_wait().ok().flatten().is_none();
        let _ = session.kill();
        let _ = session.wait();
        assert!(alive, "check mode ended the session");

        // Declared read-only, the author answers for it: it runs, and its rows come back.
        let mut declared = args(
            &c,
            "SELECT count(*) AS n FROM pg_database WHERE datname = 'postgres'",
        );
        declared["read_only"] = json!(true);
        let plan = h.check(&PostgresQuery, declared);
        assert!(plan.action.is_none() && !plan.outcome.changed);
        assert_eq!(plan.outcome.data["rows"], json!([{"n": "1"}]));

        // Outside check mode the same statement runs (the apply asked for it).
        let o = h.apply(&PostgresQuery, args(&c, &copy));
        assert!(!o.failed, "{}", o.msg);
        assert!(proof.exists(), "apply did not run `{copy}`");
    }

    /// `ps` shows every process's arguments to every user of the host: neither the password
    /// of a connection string nor the SQL (which carries secrets too: `ALTER ROLE ...
    /// PASSWORD`) may be on a command line, for a read or a write.
    #[test]
    fn neither_the_password_nor_the_sql_ever_shows_in_ps() {
        let c = Cluster::primary();
        let h = Harness::new();
        let secret = "Ps-Visible-S3cret";
        let sql_secret = "Ps-Visible-Sql";
        let conninfo = format!(
            "postgresql://postgres:{secret}@127.0.0.1:{}/postgres",
            c.port
        );
        // What psql's arguments do show: the connection string without its password.
        let seen = format!("127.0.0.1:{}/postgres", c.port);
        let watch = move || {
            let (seen, leaked) = (seen.clone(), [secret, sql_secret]);
            std::thread::spawn(move || {
                let (mut seen_psql, mut shown) = (false, Vec::new());
                let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
                while std::time::Instant::now() < until {
                    let ps = std::process::Command::new("ps")
                        .args(["-eo", "args"])
                        .output()
                        .unwrap_or_else(|e| panic!("ps: {e}"));
                    let text = String::from_utf8_lossy(&ps.stdout).into_owned();
                    seen_psql |= text
                        .lines()
                        .any(|l| l.contains("psql") && l.contains(&seen));
                    for line in text.lines() {
                        if leaked.iter().any(|s| line.contains(s))
                            && !shown.iter().any(|l| l == line)
                        {
                            shown.push(line.to_owned());
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                (seen_psql, shown)
            })
        };
        let read = json!({
            "conninfo": conninfo,
            "sql": format!("SELECT pg_sleep(1.5) AS slept, '{sql_secret}' AS s"),
            "read_only": true,
        });
        let watcher = watch();
        let plan = h.check(&PostgresQuery, read);
        assert!(!plan.outcome.failed, "{}", plan.outcome.msg);
        assert_eq!(plan.outcome.data["rows"][0]["s"], json!(sql_secret));
        let (seen_psql, shown) = watcher.join().unwrap();
        assert!(seen_psql, "the query's psql was never seen by ps");
        assert_eq!(shown, Vec::<String>::new(), "ps showed a secret");

        let write = json!({
            "conninfo": conninfo,
            "sql": format!("CREATE TABLE t AS SELECT '{sql_secret}'::text AS s FROM pg_sleep(1.5)"),
        });
        let watcher = watch();
        let o = h.apply(&PostgresQuery, write);
        assert!(o.changed && !o.failed, "{}", o.msg);
        let (seen_psql, shown) = watcher.join().unwrap();
        assert!(seen_psql, "the write's psql was never seen by ps");
        assert_eq!(shown, Vec::<String>::new(), "ps showed a secret");
        assert_eq!(c.sql("SELECT s FROM t"), sql_secret);
    }

    /// A write is one transaction, as the whole string was with `psql -c` and as Ansible
    /// commits it: a failing statement leaves nothing of the ones before it.
    #[test]
    fn a_write_is_all_or_nothing_and_vacuum_still_runs() {
        let c = Cluster::primary();
        c.sql("CREATE TABLE cdr (id int PRIMARY KEY)");
        let h = Harness::new();
        let o = h.apply(
            &PostgresQuery,
            args(&c, "INSERT INTO cdr VALUES (1); INSERT INTO cdr VALUES (1)"),
        );
        assert!(o.failed && o.msg.contains("duplicate key"), "{}", o.msg);
        assert_eq!(c.sql("SELECT count(*) FROM cdr"), "0");
        let o = h.apply(&PostgresQuery, args(&c, "VACUUM cdr"));
        assert!(o.changed && !o.failed, "{}", o.msg);
        let o = h.apply(&PostgresQuery, args(&c, "SELECT 1 AS one -- no newline"));
        assert!(!o.changed && !o.failed, "{}", o.msg);
        assert_eq!(o.data["rows"], json!([{"one": "1"}]));
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
        let mut a = args(&c, "SELECT 1");
        a["read_only"] = json!(true);
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
