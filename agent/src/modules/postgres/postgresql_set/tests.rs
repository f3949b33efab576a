use serde_json::{Value as Json, json};

use super::PostgresqlSet;
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
fn a_reloadable_setting_changes_once_and_resets() {
    let c = Cluster::primary();
    let h = Harness::new();
    let want = args(&c, json!({"name": "work_mem", "value": "32mb"}));
    let plan = h.check(&PostgresqlSet, want.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    assert_eq!(
        plan.outcome.msg,
        "would run: ALTER SYSTEM SET work_mem = '32MB'; SELECT pg_reload_conf()"
    );
    assert_eq!(plan.outcome.data["prev_val_pretty"], json!("4MB"));
    assert_eq!(plan.outcome.data["value_pretty"], json!("32MB"));
    assert_eq!(plan.outcome.data["context"], json!("user"));
    assert_eq!(c.sql("SHOW work_mem"), "4MB");

    let o = h.apply(&PostgresqlSet, want.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["value_pretty"], json!("32MB"));
    assert_eq!(o.data["value"], json!({"value": 33554432, "unit": "b"}));
    assert_eq!(o.data["restart_required"], json!(false));
    assert_eq!(
        o.data["queries"],
        json!(["ALTER SYSTEM SET work_mem = '32MB'"])
    );
    assert_eq!(c.sql("SHOW work_mem"), "32MB");
    assert!(!h.apply(&PostgresqlSet, want).changed);
    // The same size in another unit is the same value.
    let kb = args(&c, json!({"name": "work_mem", "value": "32768kB"}));
    assert!(!h.check(&PostgresqlSet, kb).outcome.changed);

    let reset = args(&c, json!({"name": "work_mem", "reset": true}));
    let plan = h.check(&PostgresqlSet, reset.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: ALTER SYSTEM RESET work_mem; SELECT pg_reload_conf()"
    );
    assert!(h.apply(&PostgresqlSet, reset.clone()).changed);
    assert_eq!(c.sql("SHOW work_mem"), "4MB");
    assert!(!h.apply(&PostgresqlSet, reset).changed);
}

#[test]
fn a_restart_setting_is_pending_and_not_changed_twice() {
    let c = Cluster::primary();
    let h = Harness::new();
    let want = args(&c, json!({"name": "max_connections", "value": 90}));
    let o = h.apply(&PostgresqlSet, want.clone());
    assert!(o.changed, "{}", o.msg);
    assert_eq!(o.data["restart_required"], json!(true));
    assert_eq!(o.data["context"], json!("postmaster"));
    // Not restarted: the server still runs with the old value, the next start has 90.
    assert_eq!(c.sql("SHOW max_connections"), "100");
    let again = h.check(&PostgresqlSet, want);
    assert!(!again.outcome.changed, "{}", again.outcome.msg);
    let default = args(&c, json!({"name": "max_connections", "value": "default"}));
    let plan = h.check(&PostgresqlSet, default.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: ALTER SYSTEM SET max_connections = DEFAULT (a restart of PostgreSQL is required)"
    );
    assert!(h.apply(&PostgresqlSet, default.clone()).changed);
    assert!(!h.apply(&PostgresqlSet, default).changed);
}

#[test]
fn bad_requests_fail_with_the_collections_words() {
    let c = Cluster::primary();
    let h = Harness::new();
    let e = h.check_err(
        &PostgresqlSet,
        args(&c, json!({"name": "no_such_thing", "value": "1"})),
    );
    assert!(e.starts_with("No such parameter: no_such_thing."), "{e}");
    let e = h.check_err(
        &PostgresqlSet,
        args(&c, json!({"name": "block_size", "value": "1"})),
    );
    assert!(
        e.starts_with("block_size: cannot be changed (internal context)"),
        "{e}"
    );
    let e = h.check_err(
        &PostgresqlSet,
        args(
            &c,
            json!({"name": "work_mem", "value": "1MB", "reset": true}),
        ),
    );
    assert_eq!(e, "work_mem: value and reset params are mutually exclusive");
    let e = h.check_err(&PostgresqlSet, args(&c, json!({"name": "work_mem"})));
    assert_eq!(
        e,
        "work_mem: at least one of value or reset param must be specified"
    );
}

/// A role granted `ALTER SYSTEM` on one parameter cannot read `pg_file_settings`: the
/// collection's own rules decide then.
#[test]
fn a_role_without_pg_file_settings_uses_the_collections_rules() {
    let c = Cluster::primary();
    c.sql("CREATE ROLE tuner LOGIN");
    c.sql("GRANT ALTER SYSTEM ON PARAMETER work_mem TO tuner");
    c.sql("GRANT EXECUTE ON FUNCTION pg_reload_conf() TO tuner");
    let h = Harness::new();
    let mut want = args(&c, json!({"name": "work_mem", "value": "8MB"}));
    want["login_user"] = json!("tuner");
    want["login_db"] = json!("postgres");
    let o = h.apply(&PostgresqlSet, want.clone());
    assert!(o.changed, "{}", o.msg);
    assert_eq!(c.sql("SHOW work_mem"), "8MB");
    assert!(!h.apply(&PostgresqlSet, want).changed);
    let mut reset = args(&c, json!({"name": "work_mem", "reset": true}));
    reset["login_user"] = json!("tuner");
    reset["login_db"] = json!("postgres");
    assert!(h.apply(&PostgresqlSet, reset.clone()).changed);
    assert_eq!(c.sql("SHOW work_mem"), "4MB");
    assert!(!h.apply(&PostgresqlSet, reset).changed);
}
