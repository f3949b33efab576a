use serde_json::{Value as Json, json};

use super::PostgresqlUser;
use crate::modules::pgtest::Cluster;
use crate::modules::testutil::Harness;

fn args(c: &Cluster, more: Json) -> Json {
    let mut a = json!({"login_unix_socket": c.sock.display().to_string(), "port": c.port});
    if let (Some(a), Json::Object(m)) = (a.as_object_mut(), more) {
        a.extend(m);
    }
    a
}

#[test]
fn create_alter_and_drop_idempotently_with_check_mode() {
    let c = Cluster::primary();
    let h = Harness::new();
    let want = args(
        &c,
        json!({"name": "app", "password": "Sekr1t", "role_attr_flags": "CREATEDB,LOGIN",
               "conn_limit": 5, "expires": "2099-01-01"}),
    );
    let plan = h.check(&PostgresqlUser, want.clone());
    assert!(plan.outcome.changed);
    assert_eq!(
        plan.outcome.data["queries"],
        json!([
            "CREATE USER \"app\" WITH ENCRYPTED PASSWORD %(password)s VALID UNTIL %(expires)s CONNECTION LIMIT 5 CREATEDB LOGIN"
        ])
    );
    assert!(!plan.outcome.msg.contains("Sekr1t"));
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app'"),
        "0"
    );

    let o = h.apply(&PostgresqlUser, want.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert!(
        !o.msg.contains("Sekr1t") && !o.data.values().any(|v| v.to_string().contains("Sekr1t"))
    );
    assert_eq!(
        c.sql("SELECT rolcreatedb::text || rolcanlogin::text || rolconnlimit FROM pg_roles WHERE rolname = 'app'"),
        "truetrue5"
    );
    assert!(
        c.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
            .starts_with("SCRAM-SHA-256$")
    );
    // The same task again: the SCRAM verifier matches, nothing to do.
    let again = h.apply(&PostgresqlUser, want.clone());
    assert!(!again.changed && !again.failed, "{}", again.msg);
    assert_eq!(again.data["queries"], json!([]));

    // A new password, and a flag taken away.
    let mut change = want.clone();
    change["password"] = json!("Other");
    change["role_attr_flags"] = json!("NOCREATEDB");
    let plan = h.check(&PostgresqlUser, change.clone());
    assert_eq!(
        plan.outcome.data["queries"],
        json!([
            "ALTER USER \"app\" WITH ENCRYPTED PASSWORD %(password)s NOCREATEDB VALID UNTIL %(expires)s CONNECTION LIMIT 5"
        ])
    );
    assert!(h.apply(&PostgresqlUser, change.clone()).changed);
    assert!(!h.apply(&PostgresqlUser, change.clone()).changed);
    assert_eq!(
        c.sql("SELECT rolcreatedb FROM pg_roles WHERE rolname = 'app'"),
        "f"
    );

    // An MD5 hash given as the password is stored as given.
    let md5 = format!("md5{}", "0123456789abcdef0123456789abcdef");
    let mut hashed = args(&c, json!({"name": "app", "password": md5}));
    assert!(h.apply(&PostgresqlUser, hashed.clone()).changed);
    hashed["password"] = json!(md5);
    assert!(!h.apply(&PostgresqlUser, hashed).changed);

    // Dropped, once; check mode first.
    let absent = args(&c, json!({"name": "app", "state": "absent"}));
    let plan = h.check(&PostgresqlUser, absent.clone());
    assert!(plan.outcome.changed && plan.outcome.data["user_removed"] == json!(true));
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app'"),
        "1"
    );
    assert!(h.apply(&PostgresqlUser, absent.clone()).changed);
    assert!(!h.apply(&PostgresqlUser, absent).changed);
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app'"),
        "0"
    );
}

#[test]
fn bad_flags_and_roles_that_own_objects() {
    let c = Cluster::primary();
    let h = Harness::new();
    assert_eq!(
        h.check_err(
            &PostgresqlUser,
            args(&c, json!({"name": "x", "role_attr_flags": "login,FLY"}))
        ),
        "Invalid role_attr_flags specified: FLY"
    );
    c.sql("CREATE ROLE owner LOGIN; CREATE TABLE t (a int); ALTER TABLE t OWNER TO owner");
    let mut absent = args(&c, json!({"name": "owner", "state": "absent"}));
    let ctx = h.ctx(false);
    let plan =
        super::Module::check(&PostgresqlUser, &ctx, &absent).unwrap_or_else(|e| panic!("{e}"));
    let e = plan
        .action
        .map(|a| a.apply(&ctx))
        .and_then(Result::err)
        .map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("Unable to remove user"));
    absent["fail_on_user"] = json!(false);
    let o = h.apply(&PostgresqlUser, absent);
    assert!(
        !o.failed && !o.changed && o.data["user_removed"] == json!(false),
        "{}",
        o.msg
    );
}
