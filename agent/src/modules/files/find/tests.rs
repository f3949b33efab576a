//! `find` on real trees: the filters, the walk's order and depth, and no change ever.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use serde_json::{Value as Json, json};

use super::Find;
use super::spec::{AGE_UNITS, SIZE_UNITS, with_unit};
use super::walk::normpath;
use crate::modules::testutil::{Harness, snapshot};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        &[
            ("a.log", "error: disk full\nok\n"),
            ("b.txt", "all good\r\nerror at end"),
            (".hidden.log", "x"),
            ("sub/c.log", "0123456789"),
            ("sub/deeper/d.log", ""),
            (".dot/e.log", "e"),
        ],
    );
    symlink("a.log", dir.path().join("link.log")).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn find(h: &Harness, args: Json) -> Json {
    let plan = h.check(&Find, args);
    assert!(!plan.outcome.changed && plan.action.is_none());
    assert!(!plan.outcome.failed, "{}", plan.outcome.msg);
    Json::Object(plan.outcome.data)
}

/// The found paths relative to `root`, sorted.
fn names(root: &Path, r: &Json) -> Vec<String> {
    let prefix = format!("{}/", root.display());
    let mut out: Vec<String> = r["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files: {r}"))
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap_or_default();
            p.strip_prefix(&prefix).unwrap_or(p).to_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn globs_match_names_of_regular_files_in_the_top_directory() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let r = find(&Harness::new(), json!({"paths": root, "patterns": "*.log"}));
    assert_eq!(names(dir.path(), &r), ["a.log"]);
    assert_eq!(r["matched"], json!(1));
    // a.log b.txt .hidden.log link.log sub .dot
    assert_eq!(r["examined"], json!(6));
    assert_eq!(r["skipped_paths"], json!({}));
    let f = &r["files"][0];
    assert_eq!((&f["isreg"], &f["size"]), (&json!(true), &json!(20)));
    assert!(f.get("checksum").is_none() && f.get("exists").is_none());
}

#[test]
fn recurse_depth_hidden_and_excludes() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let h = Harness::new();
    let all = json!({"paths": [root], "patterns": ["*.log"], "recurse": true});
    assert_eq!(
        names(dir.path(), &find(&h, all)),
        [".dot/e.log", "a.log", "sub/c.log", "sub/deeper/d.log"]
    );
    let hidden = json!({"paths": root, "patterns": "*.log", "recurse": true, "hidden": true, "depth": 2, "excludes": "c*"});
    assert_eq!(
        names(dir.path(), &find(&h, hidden)),
        [".dot/e.log", ".hidden.log", "a.log"]
    );
}

#[test]
fn regexes_types_size_and_contents() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let h = Harness::new();
    let re = json!({"paths": root, "patterns": "^[ab]\\.(log|txt)$", "use_regex": true});
    assert_eq!(names(dir.path(), &find(&h, re)), ["a.log", "b.txt"]);
    let dirs = json!({"paths": root, "file_type": "directory", "recurse": true, "hidden": true});
    assert_eq!(
        names(dir.path(), &find(&h, dirs)),
        [".dot", "sub", "sub/deeper"]
    );
    let links = json!({"paths": root, "file_type": "link"});
    assert_eq!(names(dir.path(), &find(&h, links)), ["link.log"]);
    let big = json!({"paths": root, "recurse": true, "size": "10"});
    assert_eq!(
        names(dir.path(), &find(&h, big)),
        ["a.log", "b.txt", "sub/c.log"]
    );
    let small = json!({"paths": root, "recurse": true, "size": "-1b"});
    assert_eq!(
        names(dir.path(), &find(&h, small)),
        [".dot/e.log", "sub/deeper/d.log"]
    );
    let lines = json!({"paths": root, "contains": "error"});
    assert_eq!(names(dir.path(), &find(&h, lines)), ["a.log", "b.txt"]);
    let dollar = json!({"paths": root, "contains": "all good$"});
    assert_eq!(names(dir.path(), &find(&h, dollar)), ["b.txt"]);
    let whole = json!({"paths": root, "contains": "error at", "read_whole_file": true});
    assert_eq!(names(dir.path(), &find(&h, whole)), ["b.txt"]);
}

#[test]
fn age_mode_and_checksum() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
    let f = std::fs::File::options()
        .write(true)
        .open(dir.path().join("a.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_modified(old).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(
        dir.path().join("b.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let aged = json!({"paths": root, "age": "2d"});
    assert_eq!(names(dir.path(), &find(&h, aged)), ["a.log"]);
    let young = json!({"paths": root, "age": "-1h"});
    assert_eq!(names(dir.path(), &find(&h, young)), ["b.txt"]);
    let mode = json!({"paths": root, "mode": "0600"});
    assert_eq!(names(dir.path(), &find(&h, mode)), ["b.txt"]);
    let sums = find(
        &h,
        json!({"paths": root, "patterns": "a.log", "get_checksum": true}),
    );
    assert_eq!(
        sums["files"][0]["checksum"],
        json!("1ba4b710f1fc6d6f62e3cd04071bd4083999f5e0")
    );
}

#[test]
fn ansibles_failures_and_refusals() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let h = Harness::new();
    let missing = find(
        &h,
        json!({"paths": [format!("{root}/nope"), root.clone()], "patterns": "a.log"}),
    );
    assert_eq!(missing["matched"], json!(1));
    assert_eq!(
        missing["skipped_paths"][format!("{root}/nope")],
        json!(format!("'{root}/nope' is not a directory"))
    );
    let plan = h.check(&Find, json!({"paths": root, "mode": 384}));
    assert!(plan.outcome.failed);
    assert_eq!(
        plan.outcome.msg,
        "argument 'mode' is not a string and conversion is not allowed, value is of type int"
    );
    let plan = h.check(&Find, json!({"paths": root, "age": "3y"}));
    assert_eq!(
        (plan.outcome.failed, plan.outcome.msg.as_str()),
        (true, "failed to process age")
    );
    let err = h.check_err(&Find, json!({"paths": root, "mode": "u+x"}));
    assert!(err.contains("symbolic `mode`"), "{err}");
    let err = h.check_err(
        &Find,
        json!({"paths": root, "contains": "x", "encoding": "utf-16"}),
    );
    assert!(err.contains("`encoding` `utf-16`"), "{err}");
    let err = h.check_err(&Find, json!({"paths": root, "bogus": 1}));
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn limit_stops_the_walk() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let plan = Harness::new().check(&Find, json!({"paths": root, "recurse": true, "limit": 1}));
    assert_eq!(plan.outcome.data["matched"], json!(1));
    assert_eq!(plan.outcome.msg, "Limit of matches reached");
}

#[test]
fn check_mode_and_apply_change_nothing() {
    let dir = tree();
    let root = dir.path().display().to_string();
    let before = snapshot(dir.path());
    let h = Harness::new();
    let args = json!({"paths": root, "recurse": true, "get_checksum": true, "contains": "e"});
    let first = h.apply(&Find, args.clone());
    let second = h.apply(&Find, args.clone());
    assert!(!first.changed && !second.changed);
    assert_eq!(first.data["matched"], second.data["matched"]);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn units_and_normpath() {
    assert_eq!(with_unit("2D", AGE_UNITS), Some(172800));
    assert_eq!(with_unit("-10", AGE_UNITS), Some(-10));
    assert_eq!(with_unit("1k", SIZE_UNITS), Some(1024));
    assert_eq!(with_unit("1.5m", SIZE_UNITS), None);
    assert_eq!(with_unit("k", SIZE_UNITS), None);
    assert_eq!(normpath(b"/a//b/./c/../d/"), b"/a/b/d");
    assert_eq!(normpath(b"//a/../.."), b"//");
    assert_eq!(normpath(b"../x/.."), b"..");
}
