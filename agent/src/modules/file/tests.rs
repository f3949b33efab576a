use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::File;
use crate::modules::testutil::{Harness, snapshot};

fn mtime(p: &std::path::Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).map(|m| m.mtime()).unwrap_or(0)
}

fn mode_of(p: &std::path::Path) -> u32 {
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

/// Check changes nothing and wants a change; apply; a second check wants nothing.
fn converge(h: &Harness, root: &std::path::Path, args: serde_json::Value) -> Vec<String> {
    let before = snapshot(root);
    let plan = h.check(&File, args.clone());
    assert_eq!(snapshot(root), before, "check mode changed the disk");
    assert!(plan.outcome.changed, "expected a change");
    let diffs = plan.outcome.diffs.iter().map(|d| d.text.clone()).collect();
    h.apply(&File, args.clone());
    let again = h.check(&File, args);
    assert!(
        !again.outcome.changed,
        "not idempotent: {:?}",
        again.outcome.diffs
    );
    diffs
}

#[test]
fn directory_is_created_with_mode() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("a/b");
    let h = Harness::new();
    let diffs = converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "state": "directory", "mode": "0750"}),
    );
    assert_eq!(diffs, vec!["state: absent -> directory"]);
    assert!(p.is_dir());
    assert_eq!(mode_of(&p), 0o750);
}

#[test]
fn mode_of_existing_file_and_symbolic_modes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("f");
    fs::write(&p, "x").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let diffs = converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "mode": "u=rw,g=,o="}),
    );
    assert_eq!(diffs, vec!["mode: 0644 -> 0600"]);
    assert_eq!(mode_of(&p), 0o600);
}

#[test]
fn absent_removes_a_tree_and_marks_it_dangerous() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("data");
    fs::create_dir_all(p.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(p.join("sub/x"), "x").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"path": p.display().to_string(), "state": "absent"});
    assert!(h.check(&File, args.clone()).outcome.dangerous);
    converge(&h, dir.path(), args);
    assert!(!p.exists());
}

#[test]
fn link_is_created_and_retargeted() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("current");
    let h = Harness::new();
    converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "state": "link", "src": "/opt/v1"}),
    );
    assert_eq!(fs::read_link(&p).ok(), Some("/opt/v1".into()));
    let diffs = converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "state": "link", "src": "/opt/v2"}),
    );
    assert_eq!(diffs, vec!["state: link to /opt/v1 -> link to /opt/v2"]);
    assert_eq!(fs::read_link(&p).ok(), Some("/opt/v2".into()));
}

#[test]
fn link_refuses_to_replace_a_file_without_force() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("f");
    fs::write(&p, "x").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let err = h.check_err(
        &File,
        json!({"path": p.display().to_string(), "state": "link", "src": "/x"}),
    );
    assert!(err.contains("force"), "{err}");
}

#[test]
fn touch_creates_then_preserve_is_idempotent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("t");
    let h = Harness::new();
    converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
    );
    assert!(p.is_file());
    let old = mtime(&p);
    let plan = h.check(
        &File,
        json!({"path": p.display().to_string(), "state": "touch"}),
    );
    assert!(
        plan.outcome.changed,
        "plain touch always changes, as in Ansible"
    );
    assert_eq!(mtime(&p), old);
}

#[test]
fn state_file_requires_an_existing_file() {
    let h = Harness::new();
    let err = h.check_err(
        &File,
        json!({"path": "/nonexistent/dr-test", "state": "file"}),
    );
    assert!(err.contains("does not exist"), "{err}");
    let err = h.check_err(&File, json!({"path": "/tmp", "state": "file"}));
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn recurse_sets_modes_below() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("r");
    fs::create_dir_all(root.join("d")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(root.join("d/f"), "x").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(root.join("d"), fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(root.join("d/f"), fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    converge(
        &h,
        dir.path(),
        json!({"path": root.display().to_string(), "state": "directory", "recurse": true, "mode": "g-rwx,o-rwx"}),
    );
    assert_eq!(mode_of(&root.join("d")), 0o700);
    assert_eq!(mode_of(&root.join("d/f")), 0o600);
}
