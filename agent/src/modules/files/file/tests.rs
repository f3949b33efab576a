use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::File;
use crate::modules::Module as _;
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
        json!({"path": p.display().to_string(), "state": "link", "src": "/opt/v1", "force": true}),
    );
    assert_eq!(fs::read_link(&p).ok(), Some("/opt/v1".into()));
    let diffs = converge(
        &h,
        dir.path(),
        json!({"path": p.display().to_string(), "state": "link", "src": "/opt/v2", "force": true}),
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
    for (path, msg) in [
        (
            "/nonexistent/dr-test",
            "file (/nonexistent/dr-test) is absent, cannot continue",
        ),
        ("/tmp", "file (/tmp) is directory, cannot continue"),
    ] {
        let plan = File
            .check(&h.ctx(true), &json!({"path": path, "state": "file"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.outcome.failed, "{path}");
        assert_eq!(plan.outcome.msg, msg);
        assert_eq!(plan.outcome.data["path"], json!(path));
    }
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

/// The error `file` gives for `args` in apply mode, with or without consent.
fn refused(consent: bool, args: serde_json::Value) -> String {
    let mut h = Harness::new();
    h.consent = consent;
    match crate::modules::Module::check(&File, &h.ctx(false), &args) {
        Ok(plan) => panic!("not refused: {:?}", plan.outcome.msg),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_non_empty_directory_is_named_in_the_plan_and_kept_without_consent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let app = dir.path().join("app");
    fs::create_dir_all(app.join("static")).unwrap_or_else(|e| panic!("{e}"));
    for f in ["a", "b", "static/c"] {
        fs::write(app.join(f), f).unwrap_or_else(|e| panic!("{e}"));
    }
    let shown = format!("{}/", app.display());
    let args = json!({"path": shown, "state": "absent"});
    let mut h = Harness::new();
    h.consent = false;
    let plan = h.check(&File, args.clone());
    assert!(plan.outcome.dangerous);
    assert_eq!(
        plan.outcome.msg,
        format!("removes directory `{shown}` and everything in it (3 files, 1 subdirectory)")
    );
    let before = snapshot(dir.path());
    assert_eq!(
        refused(false, args.clone()),
        format!(
            "refusing to remove the non-empty directory `{shown}` (3 files, 1 subdirectory) without consent: review it with `dr plan`, then run `dr apply --yes` (or answer the prompt on a terminal)"
        )
    );
    assert_eq!(snapshot(dir.path()), before, "removed without consent");
    h.consent = true;
    h.apply(&File, args);
    assert!(!app.exists());
}

#[test]
fn an_empty_directory_or_a_file_needs_no_consent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("lock");
    fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.consent = false;
    for p in [&empty, &file] {
        let args = json!({"path": p.display().to_string(), "state": "absent"});
        assert!(!h.check(&File, args.clone()).outcome.dangerous);
        h.apply(&File, args);
        assert!(!p.exists(), "{} was kept", p.display());
    }
}

#[test]
fn root_and_empty_paths_are_refused_even_with_consent_before_any_removal() {
    // Nothing is at risk: the refusal comes from the path alone, in check as in apply.
    for (path, start) in [
        ("/", "refusing to remove `/`: "),
        ("", "refusing to remove an empty path"),
        (
            "//usr/lib/../",
            "refusing to remove `//usr/lib/../` (it is `/usr` once",
        ),
    ] {
        let why = refused(true, json!({"path": path, "state": "absent"}));
        assert!(why.starts_with(start), "{path:?}: {why}");
        assert!(why.ends_with("whatever the flags"), "{path:?}: {why}");
    }
    let h = Harness::new();
    let in_check = crate::modules::Module::check(
        &File,
        &h.ctx(true),
        &json!({"path": "/etc/", "state": "absent"}),
    );
    assert!(in_check.is_err(), "plan did not refuse /etc/");
}

#[test]
fn the_apply_step_checks_the_path_again() {
    let why = super::perform(&super::Change::Remove(
        std::path::PathBuf::from("/"),
        super::Kind::Directory,
    ));
    assert!(
        matches!(&why, Err(e) if e.to_string().starts_with("refusing to remove `/`")),
        "{why:?}"
    );
}

#[test]
fn a_symlink_stands_for_its_target_unless_follow_is_false() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("real");
    fs::create_dir(&target).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    converge(
        &h,
        dir.path(),
        json!({"path": link.display().to_string(), "state": "directory", "mode": "0700"}),
    );
    assert_eq!(mode_of(&target), 0o700);
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
    let err = h.check_err(
        &File,
        json!({"path": link.display().to_string(), "state": "directory", "mode": "0750", "follow": false}),
    );
    assert!(err.contains("`follow: false`"), "{err}");
}

#[test]
fn hard_link_is_created_once_and_a_different_file_needs_force() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    let dest = dir.path().join("dest");
    fs::write(&src, "x").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"src": src.display().to_string(), "path": dest.display().to_string(),
                      "state": "hard", "mode": "0600"});
    let diffs = converge(&h, dir.path(), args.clone());
    assert!(diffs[0].contains("hard link to"), "{diffs:?}");
    let ino = |p: &std::path::Path| fs::metadata(p).map(|m| m.ino()).unwrap_or(0);
    assert_eq!(ino(&src), ino(&dest));
    assert_eq!(mode_of(&src), 0o600);

    let other = dir.path().join("other");
    fs::write(&other, "y").unwrap_or_else(|e| panic!("{e}"));
    let onto_file = json!({"src": src.display().to_string(), "path": other.display().to_string(),
                           "state": "hard"});
    let err = h.check_err(&File, onto_file.clone());
    assert!(
        err.contains("Cannot link, file exists at destination"),
        "{err}"
    );
    let mut forced = onto_file;
    forced["force"] = json!(true);
    converge(&h, dir.path(), forced);
    assert_eq!(ino(&src), ino(&other));

    let missing = json!({"src": dir.path().join("nope").display().to_string(),
                         "path": dest.display().to_string(), "state": "hard"});
    let plan = h.check(&File, missing);
    assert!(plan.outcome.failed);
    // Ansible's result: its message, with `dest` and `src`.
    assert_eq!(plan.outcome.msg, "src does not exist");
    assert_eq!(plan.outcome.data["dest"], json!(dest.display().to_string()));
}

#[test]
fn diff_peek_says_whether_a_file_looks_binary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = dir.path().join("bin");
    fs::write(&bin, b"ab\0cd").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let peek = |p: &std::path::Path| {
        let plan = h.check(
            &File,
            json!({"path": p.display().to_string(), "_diff_peek": true}),
        );
        assert!(!plan.outcome.changed && plan.action.is_none());
        plan.outcome.data["appears_binary"].clone()
    };
    assert_eq!(peek(&bin), json!(true));
    assert_eq!(peek(&dir.path().join("missing")), json!(false));
}

#[test]
fn explicit_times_are_set_once_and_now_is_always_a_change() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("f");
    let h = Harness::new();
    let args = json!({"path": p.display().to_string(), "state": "touch",
                      "modification_time": "2020-01-02 03:04:05",
                      "modification_time_format": "%Y-%m-%d %H:%M:%S",
                      "access_time": "preserve"});
    let diffs = converge(&h, dir.path(), args);
    assert!(diffs.iter().any(|d| d.contains("mtime")), "{diffs:?}");
    let local = chrono::NaiveDate::from_ymd_opt(2020, 1, 2)
        .and_then(|d| d.and_hms_opt(3, 4, 5))
        .map(|n| {
            use chrono::TimeZone as _;
            chrono::Local
                .from_local_datetime(&n)
                .earliest()
                .map(|t| t.timestamp())
        });
    assert_eq!(
        Some(Some(fs::metadata(&p).map(|m| m.mtime()).unwrap_or(0))),
        local
    );
    // `state: file` keeps times unless told; `touch` alone sets them to now, every run.
    let keep = json!({"path": p.display().to_string()});
    assert!(!h.check(&File, keep).outcome.changed);
    let touch = json!({"path": p.display().to_string(), "state": "touch"});
    assert!(h.check(&File, touch.clone()).outcome.changed);
    h.apply(&File, touch.clone());
    assert!(h.check(&File, touch).outcome.changed);
    let bad = json!({"path": p.display().to_string(), "state": "touch", "modification_time": "yesterday"});
    let err = h.check_err(&File, bad);
    assert!(
        err.contains(
            "Error while obtaining timestamp for time yesterday using format %Y%m%d%H%M.%S"
        ),
        "{err}"
    );
}

#[test]
fn attributes_are_set_added_and_removed_with_chattr() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("f");
    fs::write(&p, "x").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let path = p.display().to_string();
    let lsattr = || {
        let out = std::process::Command::new("lsattr")
            .arg("-d")
            .arg(&p)
            .output();
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .replace('-', "")
        })
        .unwrap_or_default()
    };
    // `+A` adds the flag (a change whenever the flags are not exactly `A`, as Ansible
    // compares); asking for exactly the flags the file then has is no change.
    let before = snapshot(dir.path());
    assert!(
        h.check(&File, json!({"path": path, "attributes": "+A"}))
            .outcome
            .changed
    );
    assert_eq!(snapshot(dir.path()), before);
    h.apply(&File, json!({"path": path, "attributes": "+A"}));
    let flags = lsattr();
    assert!(flags.contains('A'), "{flags}");
    assert!(
        !h.check(&File, json!({"path": path, "attributes": flags}))
            .outcome
            .changed
    );
    assert!(
        !h.check(&File, json!({"path": path, "attributes": ""}))
            .outcome
            .changed
    );
    // `-A` is a change every time, as Ansible counts it.
    h.apply(&File, json!({"path": path, "attributes": "-A"}));
    assert!(!lsattr().contains('A'));
    assert!(
        h.check(&File, json!({"path": path, "attr": "-A"}))
            .outcome
            .changed
    );
}
