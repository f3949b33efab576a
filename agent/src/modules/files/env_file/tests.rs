use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value as Json, json};

use super::EnvFile;
use crate::modules::testutil::{Harness, snapshot};

fn with_path(args: Json, path: &std::path::Path) -> Json {
    let mut args = args;
    if let Json::Object(m) = &mut args {
        m.insert("path".into(), json!(path.display().to_string()));
    }
    args
}

#[test]
fn rewrites_database_url_keeping_everything_else() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(".env");
    let original = "# akira\r\nCOMPOSE_PROJECT_NAME=akira\r\n\nexport DATABASE_URL=\"postgres://app:SECRET@akira-db-01:5432/akira\" # primary\nWORKERS=4";
    fs::write(&path, original).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = with_path(
        json!({"set": {"DATABASE_URL": "postgres://app:SECRET@akira-db-02:5432/akira", "NEW_KEY": "v"}}),
        &path,
    );
    let before = snapshot(dir.path());
    let plan = h.check(&EnvFile, args.clone());
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    assert!(plan.outcome.changed);
    assert_eq!(plan.outcome.msg, "set DATABASE_URL, NEW_KEY");
    let diff = &plan.outcome.diffs[0].text;
    assert!(
        diff.contains("-export DATABASE_URL=\"postgres://app:SECRET@akira-db-01"),
        "{diff}"
    );
    assert!(
        diff.contains("+export DATABASE_URL=\"postgres://app:SECRET@akira-db-02"),
        "{diff}"
    );

    h.apply(&EnvFile, args.clone());
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        "# akira\r\nCOMPOSE_PROJECT_NAME=akira\r\n\nexport DATABASE_URL=\"postgres://app:SECRET@akira-db-02:5432/akira\" # primary\nWORKERS=4\nNEW_KEY=v\n"
    );
    assert_eq!(
        fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0),
        0o640
    );
    let again = h.check(&EnvFile, args);
    assert!(!again.outcome.changed && again.action.is_none());
}

#[test]
fn creates_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(".env");
    let h = Harness::new();
    let args = with_path(json!({"set": {"A": 1, "B": true, "C": "x y"}}), &path);
    h.apply(&EnvFile, args.clone());
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        "A=1\nB=true\nC=\"x y\"\n"
    );
    assert_eq!(
        fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0),
        0o600
    );
    assert!(!h.check(&EnvFile, args).outcome.changed);
}

#[test]
fn unset_and_create_false() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(".env");
    fs::write(&path, "A=1\nB=2\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = with_path(json!({"unset": ["A", "Z"]}), &path);
    let out = h.apply(&EnvFile, args.clone());
    assert_eq!(out.data["removed_keys"], json!(["A"]));
    assert_eq!(fs::read_to_string(&path).unwrap_or_default(), "B=2\n");
    assert!(!h.check(&EnvFile, args).outcome.changed);
    let missing = with_path(
        json!({"set": {"A": "1"}, "create": false}),
        &dir.path().join("nope"),
    );
    assert!(h.check_err(&EnvFile, missing).contains("does not exist"));
}

#[test]
fn bad_keys_are_rejected() {
    let h = Harness::new();
    let err = h.check_err(&EnvFile, json!({"path": "/tmp/x", "set": {"1BAD": "x"}}));
    assert!(err.contains("`1BAD` is not a valid variable name"), "{err}");
    let err = h.check_err(
        &EnvFile,
        json!({"path": "/tmp/x", "set": {"A": "x"}, "unset": ["A"]}),
    );
    assert!(err.contains("both"), "{err}");
}
