use serde_json::{Value as Json, json};

use super::PostgresqlPgHba;
use crate::modules::testutil::Harness;

const START: &str = "# managed\nlocal all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n";

fn args(path: &std::path::Path, more: Json) -> Json {
    let mut a = json!({"dest": path.display().to_string()});
    if let (Some(a), Json::Object(m)) = (a.as_object_mut(), more) {
        a.extend(m);
    }
    a
}

#[test]
fn a_rule_is_added_once_updated_and_removed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hba = dir.path().join("pg_hba.conf");
    std::fs::write(&hba, START).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let want = args(
        &hba,
        json!({"contype": "host", "databases": "app", "users": "app,report", "source": "10.0.0.0",
               "netmask": "255.255.0.0", "method": "scram-sha-256", "comment": "app servers"}),
    );
    let plan = h.check(&PostgresqlPgHba, want.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    assert_eq!(
        plan.outcome.data["msgs"],
        json!([
            "Adding rule host\tapp\tapp\t10.0.0.0/16\tscram-sha-256\t#app servers",
            "Adding rule host\tapp\treport\t10.0.0.0/16\tscram-sha-256\t#app servers",
            "Changed"
        ])
    );
    assert!(
        plan.outcome.diffs[0]
            .text
            .contains("+host\tapp\tapp\t10.0.0.0/16"),
        "{:?}",
        plan.outcome.diffs
    );
    assert_eq!(std::fs::read_to_string(&hba).unwrap_or_default(), START);

    let o = h.apply(&PostgresqlPgHba, want.clone());
    assert!(o.changed, "{}", o.msg);
    let text = std::fs::read_to_string(&hba).unwrap_or_default();
    assert_eq!(
        text,
        "# managed\nlocal all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost\tapp\tapp\t10.0.0.0/16\tscram-sha-256\t#app servers\nhost\tapp\treport\t10.0.0.0/16\tscram-sha-256\t#app servers"
    );
    assert_eq!(o.data["pg_hba"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        o.data["pg_hba"][2],
        json!({"type": "host", "db": "app", "usr": "app", "src": "10.0.0.0/16", "method": "scram-sha-256"})
    );
    assert!(!h.apply(&PostgresqlPgHba, want.clone()).changed);

    // Another method for the same key updates it, with a backup.
    let mut md5 = want.clone();
    md5["method"] = json!("md5");
    md5["users"] = json!("app");
    md5["backup"] = json!(true);
    let o = h.apply(&PostgresqlPgHba, md5.clone());
    assert!(o.changed);
    let backup = o.data["backup_file"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        std::fs::read_to_string(&backup)
            .unwrap_or_default()
            .contains("app\tapp\t10.0.0.0/16\tscram")
    );
    assert!(
        std::fs::read_to_string(&hba)
            .unwrap_or_default()
            .contains("host\tapp\tapp\t10.0.0.0/16\tmd5")
    );
    assert!(!h.apply(&PostgresqlPgHba, md5.clone()).changed);

    let mut gone = md5.clone();
    gone["state"] = json!("absent");
    gone["users"] = json!("app,report");
    assert!(h.apply(&PostgresqlPgHba, gone.clone()).changed);
    assert!(
        !std::fs::read_to_string(&hba)
            .unwrap_or_default()
            .contains("10.0.0.0")
    );
    assert!(!h.apply(&PostgresqlPgHba, gone).changed);
}

#[test]
fn read_only_create_and_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hba = dir.path().join("pg_hba.conf");
    std::fs::write(&hba, START).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let o = h.apply(&PostgresqlPgHba, args(&hba, json!({})));
    assert!(!o.changed);
    assert_eq!(o.data["pg_hba"].as_array().map(Vec::len), Some(2));
    assert_eq!(o.data["pg_hba_string"], json!(START));

    let new = dir.path().join("new.conf");
    let local = args(
        &new,
        json!({"contype": "local", "users": "postgres", "method": "peer"}),
    );
    let ctx = h.ctx(false);
    let e = super::Module::check(&PostgresqlPgHba, &ctx, &local)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("doesn't exist. Use the create option"), "{e}");
    let mut create = local.clone();
    create["create"] = json!(true);
    assert!(h.apply(&PostgresqlPgHba, create.clone()).changed);
    assert_eq!(
        std::fs::read_to_string(&new).unwrap_or_default(),
        "local\tall\tpostgres\tpeer"
    );
    assert!(!h.apply(&PostgresqlPgHba, create).changed);

    let e = h.check_err(
        &PostgresqlPgHba,
        args(
            &hba,
            json!({"contype": "host", "source": "10.0.0.1/8", "method": "md5"}),
        ),
    );
    assert!(e.contains("has host bits set"), "{e}");
    std::fs::write(&hba, "host all all nowhere fly\n").unwrap_or_else(|e| panic!("{e}"));
    let e = h.check_err(&PostgresqlPgHba, args(&hba, json!({})));
    assert!(e.starts_with("Error reading file:\nError in line 1"), "{e}");
}

#[test]
fn a_new_file_belongs_to_the_become_user() {
    assert!(
        crate::modules::hostcmd::is_root(),
        "this test gives a file to another user: run it as root (CI does)"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hba = dir.path().join("pg_hba.conf");
    let h = Harness::new();
    let mut ctx = h.ctx(false);
    ctx.become_user = Some("postgres");
    let a = args(
        &hba,
        json!({"contype": "local", "users": "postgres", "method": "peer", "create": true}),
    );
    let plan = super::Module::check(&PostgresqlPgHba, &ctx, &a).unwrap_or_else(|e| panic!("{e}"));
    let o = plan
        .action
        .map(|act| act.apply(&ctx))
        .unwrap_or_else(|| panic!("a change"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.changed);
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(&hba).map(|m| m.uid()).unwrap_or(0);
    let postgres = crate::modules::accounts::user_named("postgres").map(|u| u.uid);
    assert_eq!(Some(uid), postgres);
}
