use serde_json::json;

use super::{PostgresqlInfo, selected};
use crate::modules::pgtest::Cluster;
use crate::modules::testutil::Harness;

#[test]
fn filters_select_as_the_collection_does() {
    let s = |f: &[&str]| selected(&f.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
    assert_eq!(s(&[]).len(), 8);
    assert_eq!(s(&["dat*", "rol*"]), vec!["databases", "roles"]);
    assert_eq!(s(&["repl*"]), vec!["replications", "repl_slots"]);
    assert_eq!(s(&["!settings"]).len(), 7);
    // Excluding patterns are ignored beside including ones.
    assert_eq!(s(&["!settings", "ver*"]), vec!["version"]);
    assert_eq!(super::subsets::ext_version("1.6"), (Some(1), Some(6)));
    assert_eq!(super::subsets::ext_version("2-1.0"), (Some(2), Some(1)));
    assert_eq!(super::subsets::ext_version("1"), (Some(1), None));
    assert_eq!(super::subsets::ext_version("1.0beta"), (None, None));
}

#[test]
fn a_server_is_described_in_the_collections_shape() {
    let c = Cluster::primary();
    c.sql("CREATE ROLE app LOGIN; CREATE ROLE staff; GRANT staff TO app");
    c.sql("CREATE DATABASE shop OWNER app");
    c.sql_db("shop", "CREATE EXTENSION citext");
    c.sql("SELECT pg_create_physical_replication_slot('standby1')");
    let h = Harness::new();
    let a = json!({"login_unix_socket": c.sock.display().to_string(), "port": c.port});
    let plan = h.check(&PostgresqlInfo, a.clone());
    assert!(plan.action.is_none() && !plan.outcome.changed);
    let d = &plan.outcome.data;
    assert!(
        d["version"]["major"].as_u64().is_some_and(|m| m >= 13),
        "{}",
        d["version"]
    );
    assert!(
        d["version"]["raw"]
            .as_str()
            .is_some_and(|r| r.starts_with("PostgreSQL"))
    );
    assert_eq!(d["in_recovery"], json!(false));
    assert_eq!(d["databases"]["shop"]["owner"], json!("app"));
    assert_eq!(
        d["databases"]["shop"]["extensions"]["citext"]["extversion"]["major"],
        json!(1)
    );
    assert!(d["databases"]["shop"]["namespaces"]["public"]["nspowner"].is_string());
    assert!(d["databases"].get("template0").is_none());
    assert_eq!(
        d["roles"]["app"],
        json!({"superuser": false, "canlogin": true, "valid_until": "", "member_of": ["staff"]})
    );
    assert_eq!(d["settings"]["work_mem"]["pretty_val"], json!("4MB"));
    assert_eq!(d["settings"]["work_mem"]["val_in_bytes"], json!(4194304));
    assert_eq!(d["tablespaces"]["pg_default"]["spcacl"], json!(""));
    assert_eq!(d["repl_slots"]["standby1"]["slot_type"], json!("physical"));
    assert_eq!(d["replications"], json!({}));
    assert_eq!(d["pending_restart_settings"], json!([]));

    let mut only = a.clone();
    only["filter"] = json!("ver*,in_recovery");
    let d = h.check(&PostgresqlInfo, only).outcome.data;
    assert!(d["version"]["major"].is_u64());
    assert_eq!(d["roles"], json!({}));
    assert_eq!(d["settings"], json!({}));
}
