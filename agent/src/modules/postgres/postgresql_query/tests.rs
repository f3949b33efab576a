use serde_json::{Value as Json, json};

use super::{PostgresqlQuery, changed};
use crate::modules::pgtest::Cluster;
use crate::modules::testutil::Harness;

/// Arguments reaching `c` through its socket, with `query`.
fn args(c: &Cluster, query: &str) -> Json {
    json!({
        "login_unix_socket": c.sock.display().to_string(),
        "port": c.port,
        "query": query,
    })
}

#[test]
fn changed_follows_the_collection_rule() {
    assert!(!changed("SELECT 3"));
    assert!(!changed("INSERT 0 0"));
    assert!(changed("INSERT 0 2"));
    assert!(!changed("UPDATE 0"));
    assert!(changed("DELETE 1"));
    assert!(changed("CREATE TABLE"));
    assert!(changed("SHOW"));
}

#[test]
fn values_come_back_typed_as_psycopg2_gives_them() {
    let c = Cluster::primary();
    let h = Harness::new();
    let o = h.apply(
        &PostgresqlQuery,
        args(
            &c,
            "SELECT 1 AS i, 2::bigint AS b, 1.5::float8 AS f, 12.50::numeric AS n, true AS t, \
             'x' AS s, NULL AS z, '{\"a\": [1, null]}'::jsonb AS j, ARRAY[1, 2] AS a, \
             ARRAY['p', NULL] AS ta, '2024-01-02 03:04:05.5'::timestamp AS ts, \
             '2024-01-02 03:04:05+00'::timestamptz AS tz, '2024-01-02'::date AS d, \
             '1 day 02:03:04'::interval AS iv, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, \
             'abc'::varchar AS v, 'pg_class'::name AS nm",
        ),
    );
    assert!(!o.failed && !o.changed, "{}", o.msg);
    assert_eq!(
        o.data["query_result"],
        json!([{
            "i": 1, "b": 2, "f": 1.5, "n": 12.5, "t": true, "s": "x", "z": null,
            "j": {"a": [1, null]}, "a": [1, 2], "ta": ["p", null],
            "ts": "2024-01-02T03:04:05.500000", "tz": "2024-01-02T03:04:05+00:00",
            "d": "2024-01-02", "iv": "1 day, 2:03:04",
            "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "v": "abc", "nm": "pg_class"
        }])
    );
    assert_eq!(o.data["statusmessage"], json!("SELECT 1"));
    assert_eq!(o.data["rowcount"], json!(1));
    assert_eq!(o.data["query_all_results"], json!([o.data["query_result"]]));
    // A type with no mapping is refused with its column named.
    let ctx = h.ctx(false);
    let plan = super::Module::check(
        &PostgresqlQuery,
        &ctx,
        &args(&c, "SELECT '1.2.3.4'::inet AS addr"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = plan
        .action
        .map(|a| a.apply(&ctx))
        .and_then(Result::err)
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("column `addr`") && e.contains("`inet`"), "{e}");
}

#[test]
fn arguments_are_merged_as_psycopg2_does_and_shown_in_query() {
    let c = Cluster::primary();
    let h = Harness::new();
    let mut a = args(&c, "SELECT %s::int AS id, %s AS story, %s::int[] AS arr");
    a["positional_args"] = json!([1, "it's", [1, 2, 3]]);
    let o = h.apply(&PostgresqlQuery, a);
    assert!(!o.failed, "{}", o.msg);
    assert_eq!(
        o.data["query"],
        json!("SELECT 1::int AS id, 'it''s' AS story, '{1, 2, 3}'::int[] AS arr")
    );
    assert_eq!(
        o.data["query_list"],
        json!(["SELECT %s::int AS id, %s AS story, %s::int[] AS arr"])
    );
    assert_eq!(
        o.data["query_result"],
        json!([{"id": 1, "story": "it's", "arr": [1, 2, 3]}])
    );
    let mut a = args(&c, "SELECT %(x)s::text AS x, 'literal %%' AS p");
    a["named_args"] = json!({"x": "y"});
    let o = h.apply(&PostgresqlQuery, a);
    assert_eq!(
        o.data["query_result"],
        json!([{"x": "y", "p": "literal %"}])
    );
    // Without arguments, `%` is not special.
    let o = h.apply(&PostgresqlQuery, args(&c, "SELECT 'a%s' AS p"));
    assert_eq!(o.data["query_result"], json!([{"p": "a%s"}]));
    let mut both = args(&c, "SELECT 1");
    both["positional_args"] = json!([1]);
    both["named_args"] = json!({"a": 1});
    assert!(
        h.check_err(&PostgresqlQuery, both)
            .contains("mutually exclusive")
    );
}

#[test]
fn writes_change_once_and_check_mode_sends_no_sql() {
    let c = Cluster::primary();
    c.sql("CREATE TABLE cdr (id int PRIMARY KEY, note text)");
    let h = Harness::new();
    let insert = args(
        &c,
        "INSERT INTO cdr VALUES (1, 'a'), (2, 'b') ON CONFLICT DO NOTHING",
    );
    // Check mode: reported, not run.
    let plan = h.check(&PostgresqlQuery, insert.clone());
    assert!(
        plan.outcome.changed && plan.action.is_none(),
        "{}",
        plan.outcome.msg
    );
    assert!(plan.outcome.msg.starts_with("would run: INSERT INTO cdr"));
    assert_eq!(c.sql("SELECT count(*) FROM cdr"), "0", "check mode wrote");
    // Apply, then apply again: the second touches no row, so no change.
    let o = h.apply(&PostgresqlQuery, insert.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["statusmessage"], json!("INSERT 0 2"));
    assert_eq!(o.data["rowcount"], json!(2));
    assert_eq!(o.data["query_result"], json!({}));
    let again = h.apply(&PostgresqlQuery, insert);
    assert!(!again.changed && !again.failed, "{}", again.msg);
    assert_eq!(again.data["statusmessage"], json!("INSERT 0 0"));
    assert_eq!(c.sql("SELECT count(*) FROM cdr"), "2");
    // RETURNING rows come back; UPDATE 0 is no change.
    let o = h.apply(
        &PostgresqlQuery,
        args(
            &c,
            "UPDATE cdr SET note = 'c' WHERE id = 2 RETURNING id, note",
        ),
    );
    assert!(o.changed);
    assert_eq!(o.data["query_result"], json!([{"id": 2, "note": "c"}]));
    let o = h.apply(
        &PostgresqlQuery,
        args(&c, "UPDATE cdr SET note = 'c' WHERE id = 99"),
    );
    assert!(!o.changed && o.data["statusmessage"] == json!("UPDATE 0"));
    // autocommit with check mode fails as in the collection.
    let mut ac = args(&c, "VACUUM cdr");
    ac["autocommit"] = json!(true);
    assert!(
        h.check_err(&PostgresqlQuery, ac.clone())
            .contains("mutually exclusive with check_mode")
    );
    let o = h.apply(&PostgresqlQuery, ac);
    assert!(
        o.changed && !o.failed && o.data["statusmessage"] == json!("VACUUM"),
        "{}",
        o.msg
    );
}

#[test]
fn a_failure_rolls_everything_back_with_the_collections_message() {
    let c = Cluster::primary();
    c.sql("CREATE TABLE cdr (id int PRIMARY KEY)");
    let h = Harness::new();
    let ctx = h.ctx(false);
    let q = "INSERT INTO cdr VALUES (1); INSERT INTO cdr VALUES (1)";
    let plan = super::Module::check(&PostgresqlQuery, &ctx, &args(&c, q))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = match plan.action.map(|a| a.apply(&ctx)) {
        Some(Err(e)) => e.to_string(),
        _ => panic!("expected a failure"),
    };
    assert!(
        e.starts_with(&format!(
            "Cannot execute SQL '{q}' None: duplicate key value"
        )),
        "{e}"
    );
    assert_eq!(c.sql("SELECT count(*) FROM cdr"), "0");
    // The last statement's result is the module's; earlier ones run in the same transaction.
    let o = h.apply(
        &PostgresqlQuery,
        args(&c, "INSERT INTO cdr VALUES (5); SELECT id FROM cdr"),
    );
    assert!(!o.changed, "{}", o.msg);
    assert_eq!(o.data["query_result"], json!([{"id": 5}]));
    // VACUUM cannot run inside the transaction without autocommit.
    let plan = super::Module::check(&PostgresqlQuery, &ctx, &args(&c, "VACUUM"))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = plan
        .action
        .map(|a| a.apply(&ctx))
        .and_then(Result::err)
        .map(|e| e.to_string());
    assert!(e.is_some_and(|e| e.contains("cannot run inside a transaction block")));
}

#[test]
fn session_role_search_path_and_connection_errors() {
    let c = Cluster::primary();
    c.sql("CREATE ROLE reader NOLOGIN; CREATE SCHEMA app; CREATE TABLE app.t AS SELECT 7 AS v");
    let h = Harness::new();
    let mut a = args(&c, "SELECT current_user AS u, v FROM t");
    a["session_role"] = json!("reader");
    a["search_path"] = json!(["app", "public"]);
    c.sql("GRANT USAGE ON SCHEMA app TO reader; GRANT SELECT ON app.t TO reader");
    let o = h.apply(&PostgresqlQuery, a);
    assert_eq!(
        o.data["query_result"],
        json!([{"u": "reader", "v": 7}]),
        "{}",
        o.msg
    );
    let mut bad = args(&c, "SELECT 1");
    bad["session_role"] = json!("x; DROP TABLE t");
    bad["trust_input"] = json!(false);
    assert!(
        h.check_err(&PostgresqlQuery, bad)
            .contains("potentially dangerous")
    );
    let mut down = args(&c, "SELECT 1");
    down["login_host"] = json!("127.0.0.1");
    down["port"] = json!(crate::modules::pgtest::free_port());
    let e = h.check_err(&PostgresqlQuery, down);
    assert!(
        e.starts_with("unable to connect to database: connection to server at \"127.0.0.1\""),
        "{e}"
    );
}

/// The password goes only into the protocol: with SCRAM required over TCP, a wrong one
/// fails, the right one logs in, and neither shows in any process's command line.
#[test]
fn passwords_log_in_over_tcp_and_never_show_in_ps() {
    let c = Cluster::primary();
    let secret = "Native-Client-S3cret";
    c.sql(&format!("CREATE ROLE app LOGIN PASSWORD '{secret}'"));
    let hba = c.data.join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap_or_default();
    std::fs::write(
        &hba,
        format!("host all app 127.0.0.1/32 scram-sha-256\n{text}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.sql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let h = Harness::new();
    let tcp = |pw: &str, q: &str| {
        json!({"login_host": "127.0.0.1", "port": c.port, "login_user": "app",
               "login_password": pw, "db": "postgres", "ssl_mode": "disable", "query": q})
    };
    let e = h.check_err(&PostgresqlQuery, tcp("wrong", "SELECT 1"));
    assert!(
        e.contains("password authentication failed for user \"app\""),
        "{e}"
    );
    assert!(!e.contains("wrong"), "{e}");
    let watcher = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < until {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                if let Ok(cmd) = std::fs::read(entry.path().join("cmdline"))
                    && String::from_utf8_lossy(&cmd).contains(secret)
                {
                    shown.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        shown
    });
    let o = h.apply(
        &PostgresqlQuery,
        tcp(secret, "SELECT current_user AS u, pg_sleep(1) AS s"),
    );
    assert!(!o.failed, "{}", o.msg);
    assert_eq!(o.data["query_result"][0]["u"], json!("app"));
    let shown = watcher.join().unwrap_or_default();
    // The test's own command line holds no secret either: it is only in this binary's data.
    assert_eq!(
        shown,
        Vec::<String>::new(),
        "a command line showed the password"
    );
}

/// As root with no password, the socket connection authenticates as the OS user named like
/// `login_user` (peer authentication), as `become_user: postgres` would.
#[test]
fn peer_authentication_as_root_connects_as_the_postgres_os_user() {
    if !crate::modules::hostcmd::is_root() {
        // Only root can take another user's identity; the rule applies only to root.
        return;
    }
    let c = Cluster::primary();
    let hba = c.data.join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap_or_default();
    std::fs::write(&hba, format!("local all all peer\n{text}")).unwrap_or_else(|e| panic!("{e}"));
    c.sql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let h = Harness::new();
    let o = h.apply(&PostgresqlQuery, args(&c, "SELECT current_user AS u"));
    assert!(!o.failed, "{}", o.msg);
    assert_eq!(o.data["query_result"], json!([{"u": "postgres"}]));
    // The agent's threads stay root.
    assert_eq!(rustix::process::geteuid().as_raw(), 0);
    // A role with no OS user of its name is not mapped: peer authentication refuses root.
    c.sql("CREATE ROLE nobody_here LOGIN");
    let mut a = args(&c, "SELECT 1");
    a["login_user"] = json!("nobody_here");
    let e = h.check_err(&PostgresqlQuery, a);
    assert!(e.contains("Peer authentication failed"), "{e}");
}
