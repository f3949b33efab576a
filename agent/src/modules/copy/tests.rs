use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::Copy;
use crate::modules::testutil::{Harness, snapshot};

fn mode_of(p: &std::path::Path) -> u32 {
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

#[test]
fn content_creates_then_is_idempotent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("motd");
    let h = Harness::new();
    let args = json!({"content": "hello\n", "dest": dest.display().to_string()});
    let before = snapshot(dir.path());
    let plan = h.check(&Copy, args.clone());
    assert!(plan.outcome.changed);
    assert_eq!(plan.outcome.diffs.len(), 1);
    assert!(
        plan.outcome.diffs[0].text.contains("+hello"),
        "{}",
        plan.outcome.diffs[0].text
    );
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    let out = h.apply(&Copy, args.clone());
    assert!(out.changed);
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "hello\n");
    assert_eq!(mode_of(&dest), 0o644);
    let again = h.check(&Copy, args);
    assert!(!again.outcome.changed && again.action.is_none());
}

#[test]
fn mode_change_only_is_a_one_line_diff_and_keeps_content() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "x").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"content": "x", "dest": dest.display().to_string(), "mode": 0o600});
    let plan = h.check(&Copy, args.clone());
    assert_eq!(plan.outcome.diffs.len(), 1);
    assert_eq!(plan.outcome.diffs[0].text, "mode: 0644 -> 0600");
    h.apply(&Copy, args.clone());
    assert_eq!(mode_of(&dest), 0o600);
    assert!(!h.check(&Copy, args).outcome.changed);
}

#[test]
fn replacing_keeps_existing_mode_and_backup_keeps_old_bytes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "old\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let out = h.apply(
        &Copy,
        json!({"content": "new\n", "dest": dest.display().to_string(), "backup": "yes"}),
    );
    assert_eq!(mode_of(&dest), 0o640);
    let backup = out.data["backup_file"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(fs::read_to_string(&backup).unwrap_or_default(), "old\n");
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "new\n");
}

#[test]
fn src_into_a_directory_uses_the_basename() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.add_file("files/app.env", "A=1\n");
    let dest = format!("{}/", dir.path().display());
    h.apply(&Copy, json!({"src": "files/app.env", "dest": dest}));
    assert_eq!(
        fs::read_to_string(dir.path().join("app.env")).unwrap_or_default(),
        "A=1\n"
    );
}

#[test]
fn force_false_leaves_an_existing_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "mine").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let plan = h.check(
        &Copy,
        json!({"content": "theirs", "dest": dest.display().to_string(), "force": false}),
    );
    assert!(!plan.outcome.changed && plan.action.is_none());
}

#[test]
fn errors_name_the_problem() {
    let h = Harness::new();
    assert!(
        h.check_err(&Copy, json!({"dest": "/tmp/x"}))
            .contains("one of `content` or `src`")
    );
    assert!(
        h.check_err(&Copy, json!({"src": "nope", "dest": "/tmp/x"}))
            .contains("could not find or access `nope`")
    );
    assert!(
        h.check_err(
            &Copy,
            json!({"content": "a", "dest": "/tmp/x", "mdoe": "0644"})
        )
        .contains("unknown field `mdoe`")
    );
}

#[test]
fn validate_rejects_bad_content_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("conf");
    fs::write(&dest, "good\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let ctx = h.ctx(false);
    let args = json!({"content": "bad\n", "dest": dest.display().to_string(), "validate": "grep -q good %s"});
    let plan = crate::modules::Module::check(&Copy, &ctx, &args).unwrap_or_else(|e| panic!("{e}"));
    let err = match plan.action.map(|a| a.apply(&ctx)) {
        Some(Err(e)) => e.to_string(),
        _ => panic!("expected validation to fail"),
    };
    assert!(
        err.contains("validation failed") && err.contains("grep -q good"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "good\n");
    let leftovers = fs::read_dir(dir.path()).map(|r| r.count()).unwrap_or(0);
    assert_eq!(leftovers, 1, "temporary file left behind");
    let ok = json!({"content": "good too\n", "dest": dest.display().to_string(), "validate": "grep -q good %s"});
    assert!(h.apply(&Copy, ok).changed);
    assert!(
        h.check_err(
            &Copy,
            json!({"content": "x", "dest": "/tmp/x", "validate": "true"})
        )
        .contains("%s")
    );
}

#[test]
fn remote_src_reads_a_host_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("backup");
    let dest = dir.path().join("live");
    fs::write(&src, "saved\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"src": src.display().to_string(), "dest": dest.display().to_string(), "remote_src": true});
    assert!(h.apply(&Copy, args.clone()).changed);
    assert_eq!(fs::read_to_string(&dest).unwrap_or_default(), "saved\n");
    assert!(!h.check(&Copy, args).outcome.changed);
}

#[test]
fn owner_and_group_changes_are_planned_with_names() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("f");
    fs::write(&dest, "x").unwrap_or_else(|e| panic!("{e}"));
    let meta = fs::metadata(&dest).unwrap_or_else(|e| panic!("{e}"));
    let (uid, gid) = (meta.uid(), meta.gid());
    let h = Harness::new();
    let same = json!({"content": "x", "dest": dest.display().to_string(), "owner": uid, "group": gid.to_string()});
    assert!(!h.check(&Copy, same).outcome.changed);
    let other = if uid == 65534 { 65533 } else { 65534 };
    let plan = h.check(
        &Copy,
        json!({"content": "x", "dest": dest.display().to_string(), "owner": other}),
    );
    let diffs: Vec<String> = plan.outcome.diffs.iter().map(|d| d.text.clone()).collect();
    use crate::fsutil::{Db, id_name};
    assert_eq!(
        diffs,
        vec![format!(
            "owner: {} -> {}",
            id_name(Db::User, uid),
            id_name(Db::User, other)
        )]
    );
    let err = h.check_err(
        &Copy,
        json!({"content": "x", "dest": dest.display().to_string(), "owner": "no-such-user-dr"}),
    );
    assert!(
        err.contains("user `no-such-user-dr` does not exist"),
        "{err}"
    );
}
