use serde_json::{Value as Json, json};

use super::PostgresqlDb;
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
fn create_is_idempotent_and_check_mode_changes_nothing() {
    let c = Cluster::primary();
    c.sql("CREATE ROLE app LOGIN; CREATE ROLE other LOGIN");
    let h = Harness::new();
    let want = args(
        &c,
        json!({"name": "akira", "owner": "app", "encoding": "UTF8", "template": "template0",
               "lc_collate": "C", "lc_ctype": "C", "conn_limit": "20"}),
    );
    let plan = h.check(&PostgresqlDb, want.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    assert_eq!(
        plan.outcome.msg,
        "would run: CREATE DATABASE \"akira\" OWNER \"app\" TEMPLATE \"template0\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' CONNECTION LIMIT 20"
    );
    assert_eq!(plan.outcome.data["executed_commands"], json!([]));
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_database WHERE datname = 'akira'"),
        "0"
    );

    let o = h.apply(&PostgresqlDb, want.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["db"], json!("akira"));
    assert_eq!(
        o.data["executed_commands"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        c.sql("SELECT pg_get_userbyid(datdba) || ' ' || datcollate || ' ' || datconnlimit FROM pg_database WHERE datname = 'akira'"),
        "app C 20"
    );
    let again = h.apply(&PostgresqlDb, want.clone());
    assert!(!again.changed && !again.failed, "{}", again.msg);

    // The owner and the limit change; the encoding cannot.
    let mut owner = want.clone();
    owner["owner"] = json!("other");
    owner["conn_limit"] = json!("-1");
    let plan = h.check(&PostgresqlDb, owner.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: ALTER DATABASE \"akira\" OWNER TO \"other\"; ALTER DATABASE \"akira\" CONNECTION LIMIT -1"
    );
    assert!(h.apply(&PostgresqlDb, owner.clone()).changed);
    assert!(!h.apply(&PostgresqlDb, owner).changed);
    let mut enc = want.clone();
    enc["encoding"] = json!("LATIN1");
    assert!(h.check(&PostgresqlDb, enc.clone()).outcome.changed);
    let ctx = h.ctx(false);
    let e = super::Module::check(&PostgresqlDb, &ctx, &enc)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("Changing database encoding is not supported. Current encoding: UTF8")
    );
}

#[test]
fn drop_is_idempotent_and_force_ends_sessions() {
    let c = Cluster::primary();
    c.sql("CREATE DATABASE gone");
    let h = Harness::new();
    let absent = args(
        &c,
        json!({"name": "gone", "state": "absent", "force": true}),
    );
    let plan = h.check(&PostgresqlDb, absent.clone());
    assert!(plan.outcome.changed && plan.outcome.dangerous);
    assert_eq!(
        plan.outcome.msg,
        "would run: DROP DATABASE \"gone\" WITH (FORCE)"
    );
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_database WHERE datname = 'gone'"),
        "1"
    );
    let o = h.apply(&PostgresqlDb, absent.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(
        c.sql("SELECT count(*) FROM pg_database WHERE datname = 'gone'"),
        "0"
    );
    assert!(!h.apply(&PostgresqlDb, absent).changed);
    assert!(
        h.check_err(
            &PostgresqlDb,
            args(&c, json!({"name": "x", "state": "dump"}))
        )
        .contains("unknown variant `dump`")
    );
}
