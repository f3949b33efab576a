use serde_json::{Value as Json, json};

use super::PostgresqlExt;
use crate::modules::pgtest::Cluster;
use crate::modules::testutil::Harness;

fn args(c: &Cluster, more: Json) -> Json {
    let mut a = json!({"login_unix_socket": c.sock.display().to_string(), "port": c.port,
                       "login_db": "geo"});
    if let (Some(a), Json::Object(m)) = (a.as_object_mut(), more) {
        a.extend(m);
    }
    a
}

fn installed(c: &Cluster, ext: &str) -> String {
    c.sql_db(
        "geo",
        &format!(
            "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = '{ext}'), '-')"
        ),
    )
}

#[test]
fn create_update_to_latest_and_drop_converge() {
    let c = Cluster::primary();
    c.sql("CREATE DATABASE geo");
    let h = Harness::new();
    let old = args(
        &c,
        json!({"name": "citext", "version": "1.4", "comment": "case-blind"}),
    );
    let plan = h.check(&PostgresqlExt, old.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: CREATE EXTENSION \"citext\" VERSION '1.4'; COMMENT ON EXTENSION \"citext\" IS 'case-blind'"
    );
    assert_eq!(plan.outcome.data["version"], json!("1.4"));
    assert_eq!(installed(&c, "citext"), "-");
    let o = h.apply(&PostgresqlExt, old.clone());
    assert!(o.changed, "{}", o.msg);
    assert_eq!(o.data["prev_version"], json!(""));
    assert_eq!(o.data["version"], json!("1.4"));
    assert!(!h.apply(&PostgresqlExt, old).changed);

    let latest = args(&c, json!({"ext": "citext", "version": "latest"}));
    let plan = h.check(&PostgresqlExt, latest.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: ALTER EXTENSION \"citext\" UPDATE"
    );
    let o = h.apply(&PostgresqlExt, latest.clone());
    assert!(o.changed);
    assert_eq!(o.data["prev_version"], json!("1.4"));
    assert_eq!(o.data["version"], json!(installed(&c, "citext")));
    assert!(!h.apply(&PostgresqlExt, latest).changed);
    // No version: an installed extension is as asked.
    assert!(
        !h.check(&PostgresqlExt, args(&c, json!({"name": "citext"})))
            .outcome
            .changed
    );

    let e = h.check_err(
        &PostgresqlExt,
        args(&c, json!({"name": "citext", "version": "0.1"})),
    );
    assert!(
        e.starts_with("Passed version '0.1' has no valid update path"),
        "{e}"
    );
    let e = h.check_err(&PostgresqlExt, args(&c, json!({"name": "no_such_ext"})));
    assert_eq!(e, "Extension no_such_ext is not available");

    // earthdistance needs cube: CASCADE creates it, and drops with it.
    let ed = args(&c, json!({"name": "earthdistance", "cascade": true}));
    assert!(h.apply(&PostgresqlExt, ed.clone()).changed);
    assert_ne!(installed(&c, "cube"), "-");
    assert!(!h.apply(&PostgresqlExt, ed).changed);
    let gone = args(
        &c,
        json!({"name": "cube", "state": "absent", "cascade": true}),
    );
    let plan = h.check(&PostgresqlExt, gone.clone());
    assert_eq!(
        plan.outcome.msg,
        "would run: DROP EXTENSION \"cube\" CASCADE"
    );
    assert!(plan.outcome.dangerous);
    assert_ne!(installed(&c, "cube"), "-");
    assert!(h.apply(&PostgresqlExt, gone.clone()).changed);
    assert_eq!(installed(&c, "earthdistance"), "-");
    assert!(!h.apply(&PostgresqlExt, gone).changed);
}
