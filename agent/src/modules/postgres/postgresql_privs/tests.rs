use serde_json::{Value as Json, json};

use super::PostgresqlPrivs;
use crate::modules::pgtest::Cluster;
use crate::modules::testutil::Harness;

fn args(c: &Cluster, more: Json) -> Json {
    let mut a = json!({"login_unix_socket": c.sock.display().to_string(), "port": c.port,
                       "login_db": "shop"});
    if let (Some(a), Json::Object(m)) = (a.as_object_mut(), more) {
        a.extend(m);
    }
    a
}

fn acl(c: &Cluster, rel: &str) -> String {
    c.sql_db(
        "shop",
        &format!("SELECT coalesce(relacl::text, '') FROM pg_class WHERE relname = '{rel}'"),
    )
}

fn setup() -> Cluster {
    let c = Cluster::primary();
    c.sql("CREATE DATABASE shop");
    c.sql("CREATE ROLE reader; CREATE ROLE admins; CREATE ROLE owner_r");
    c.sql_db("shop", "CREATE TABLE books (id int); CREATE TABLE authors (id int); CREATE SEQUENCE ids; CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b'");
    c
}

#[test]
fn table_grants_plan_apply_and_converge() {
    let c = setup();
    let h = Harness::new();
    let want = args(
        &c,
        json!({"type": "table", "objs": "books,authors", "privs": "select,INSERT", "roles": "reader",
               "grant_option": true}),
    );
    let before = acl(&c, "books");
    let plan = h.check(&PostgresqlPrivs, want.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    assert!(
        plan.outcome.msg.starts_with("would run: GRANT INSERT,SELECT ON table \"public\".\"books\",\"public\".\"authors\" TO \"reader\" WITH GRANT OPTION;"),
        "{}",
        plan.outcome.msg
    );
    assert!(
        plan.outcome.msg.contains("reader: +INSERT"),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(acl(&c, "books"), before, "the plan changed the ACL");

    let o = h.apply(&PostgresqlPrivs, want.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert!(
        acl(&c, "books").contains("reader=a*r*/postgres"),
        "{}",
        acl(&c, "books")
    );
    assert_eq!(o.data["queries"].as_array().map(Vec::len), Some(1));
    assert!(!h.apply(&PostgresqlPrivs, want.clone()).changed);

    // Only the grant option goes.
    let mut no_option = want.clone();
    no_option["grant_option"] = json!(false);
    assert!(h.apply(&PostgresqlPrivs, no_option.clone()).changed);
    assert!(
        acl(&c, "books").contains("reader=ar/postgres"),
        "{}",
        acl(&c, "books")
    );
    assert!(!h.apply(&PostgresqlPrivs, no_option).changed);

    // Revoked from every table of the schema.
    let revoke = args(
        &c,
        json!({"objs": "ALL_IN_SCHEMA", "privs": "ALL", "roles": "reader", "state": "absent"}),
    );
    let plan = h.check(&PostgresqlPrivs, revoke.clone());
    assert!(
        plan.outcome.msg.starts_with(
            "would run: REVOKE ALL ON ALL TABLES IN SCHEMA \"public\" FROM \"reader\";"
        ),
        "{}",
        plan.outcome.msg
    );
    assert!(h.apply(&PostgresqlPrivs, revoke.clone()).changed);
    assert!(!acl(&c, "books").contains("reader"));
    assert!(!h.apply(&PostgresqlPrivs, revoke).changed);
}

#[test]
fn other_object_types_converge() {
    let c = setup();
    let h = Harness::new();
    let cases = [
        json!({"type": "sequence", "objs": "ids", "privs": "USAGE", "roles": "reader"}),
        json!({"type": "function", "objs": "add(int:int)", "privs": "EXECUTE", "roles": "reader"}),
        json!({"type": "schema", "objs": "public", "privs": "CREATE", "roles": "reader"}),
        json!({"type": "database", "privs": "CONNECT,TEMPORARY", "roles": "reader"}),
        json!({"type": "group", "objs": "admins", "roles": "reader", "admin_option": true}),
        json!({"type": "default_privs", "objs": "TABLES,SEQUENCES", "privs": "SELECT", "roles": "reader",
               "target_roles": "owner_r"}),
        json!({"type": "table", "objs": "books", "privs": "SELECT", "roles": "PUBLIC"}),
    ];
    for case in cases {
        let a = args(&c, case.clone());
        let plan = h.check(&PostgresqlPrivs, a.clone());
        assert!(plan.outcome.changed, "{case}: {}", plan.outcome.msg);
        let o = h.apply(&PostgresqlPrivs, a.clone());
        assert!(o.changed && !o.failed, "{case}: {}", o.msg);
        let again = h.apply(&PostgresqlPrivs, a.clone());
        assert!(!again.changed, "{case}: {}", again.msg);
        let mut absent = a.clone();
        absent["state"] = json!("absent");
        assert!(h.apply(&PostgresqlPrivs, absent.clone()).changed, "{case}");
        assert!(!h.apply(&PostgresqlPrivs, absent).changed, "{case}");
    }
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_auth_members WHERE member = 'reader'::regrole"),
        "0"
    );
}

#[test]
fn bad_requests_fail_with_the_collections_words() {
    let c = setup();
    let h = Harness::new();
    let e = h.check_err(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"objs": "books", "privs": "SELECT", "roles": "nobody"}),
        ),
    );
    assert_eq!(e, "Role 'nobody' does not exist");
    let o = h.apply(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"objs": "books", "privs": "SELECT", "roles": "nobody", "fail_on_role": false}),
        ),
    );
    assert!(
        !o.changed && o.msg.contains("No valid roles provided"),
        "{}",
        o.msg
    );
    let e = h.check_err(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"objs": "books", "privs": "SELECT,FLY", "roles": "reader"}),
        ),
    );
    assert_eq!(e, "Invalid privileges specified: frozenset({'FLY'})");
    let e = h.check_err(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"type": "schema", "objs": "ALL_IN_SCHEMA", "privs": "USAGE", "roles": "reader"}),
        ),
    );
    assert!(
        e.starts_with("Argument \"objs\": ALL_IN_SCHEMA can be used only"),
        "{e}"
    );
    let e = h.check_err(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"type": "database", "schema": "x", "privs": "CONNECT", "roles": "reader"}),
        ),
    );
    assert_eq!(
        e,
        "Argument \"schema\" is not allowed for type \"database\"."
    );
    let e = h.check_err(
        &PostgresqlPrivs,
        args(
            &c,
            json!({"type": "language", "objs": "plpgsql", "privs": "USAGE", "roles": "reader"}),
        ),
    );
    assert!(e.contains("`type: language` is not supported"), "{e}");
    assert!(super::refused_value(&json!({"type": "tablespace"})).is_some());
    assert!(super::refused_value(&json!({"type": "table"})).is_none());
}
