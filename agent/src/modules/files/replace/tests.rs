use std::fs;

use serde_json::{Value as Json, json};

use super::Replace;
use crate::modules::testutil::{Harness, edit_file};

/// The content and message of [`edit_file`] on a file holding `initial`.
fn run(initial: &str, args: Json) -> (String, String) {
    let (content, out) = edit_file(&Replace, Some(initial), args);
    (content.unwrap_or_default(), out.msg)
}

#[test]
fn replaces_every_match_and_counts_them() {
    let (got, msg) = run(
        "host=db-01\nbackup=db-01\n",
        json!({"regexp": "db-01", "replace": "db-02"}),
    );
    assert_eq!(got, "host=db-02\nbackup=db-02\n");
    assert_eq!(msg, "2 replacements made");
}

#[test]
fn unchanged_says_nothing() {
    let (got, msg) = run("a\n", json!({"regexp": "zzz", "replace": "y"}));
    assert_eq!((got.as_str(), msg.as_str()), ("a\n", ""));
}

#[test]
fn groups_and_multiline_anchors() {
    let (got, _) = run(
        "port = 1\n#port = 2\nport = 3",
        json!({"regexp": "^port = (\\d)$", "replace": "port = \\g<1>0"}),
    );
    assert_eq!(got, "port = 10\n#port = 2\nport = 30");
}

#[test]
fn after_and_before_narrow_the_section() {
    let (got, _) = run(
        "x=1\n[s]\nx=1\n[t]\nx=1\n",
        json!({"regexp": "x=1", "replace": "x=2", "after": "\\[s\\]", "before": "\\[t\\]"}),
    );
    assert_eq!(got, "x=1\n[s]\nx=2\n[t]\nx=1\n");
    let (got, msg) = run(
        "x=1\n",
        json!({"regexp": "x=1", "replace": "x=2", "after": "nomatch"}),
    );
    assert_eq!(got, "x=1\n");
    assert!(
        msg.starts_with("Pattern for before/after params did not match"),
        "{msg}"
    );
}

#[test]
fn refuses_what_it_cannot_translate() {
    let h = Harness::new();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("f");
    fs::write(&path, "a\n").unwrap_or_else(|e| panic!("{e}"));
    let p = path.display().to_string();
    // A backreference to no group: neither engine takes it.
    let e = h.check_err(&Replace, json!({"path": p, "regexp": "(a)\\2"}));
    assert!(e.contains("uses a backreference"), "{e}");
    let e = h.check_err(
        &Replace,
        json!({"path": p, "regexp": "a", "encoding": "latin-1"}),
    );
    assert!(e.contains("utf-8 only"), "{e}");
    let e = h.check_err(
        &Replace,
        json!({"path": p, "regexp": "(a)", "replace": "\\2"}),
    );
    assert!(e.contains("invalid group reference 2"), "{e}");
    let e = h.check_err(&Replace, json!({"path": "/nonexistent/x", "regexp": "a"}));
    assert_eq!(e, "Path /nonexistent/x does not exist !");
}

#[test]
fn attribute_changes_are_named_as_ansible_names_them() {
    let (_, msg) = run(
        "a\n",
        json!({"regexp": "a", "replace": "b", "mode": "0600"}),
    );
    assert_eq!(
        msg,
        "1 replacements made and ownership, perms or SE linux context changed"
    );
    let (got, msg) = run("a\n", json!({"regexp": "zzz", "mode": "0640"}));
    assert_eq!(got, "a\n");
    assert_eq!(msg, "ownership, perms or SE linux context changed");
}

#[test]
fn lookarounds_and_backreferences_replace_as_python_does() {
    // re.subn(r'^(\w+) = (?=\S)', r'\1=', ..., flags=re.M): only lines with a value.
    let (got, msg) = run(
        "a = 1\nb = \nc = 3\n",
        json!({"regexp": "^(\\w+) = (?=\\S)", "replace": "\\1="}),
    );
    assert_eq!(got, "a=1\nb = \nc=3\n");
    assert_eq!(msg, "2 replacements made");
    // A doubled word, found by a backreference, made single.
    let (got, msg) = run(
        "the the cat\nsat sat\n",
        json!({"regexp": "\\b(\\w+) \\1\\b", "replace": "\\g<1>"}),
    );
    assert_eq!(
        (got.as_str(), msg.as_str()),
        ("the cat\nsat\n", "2 replacements made")
    );
    // Applied again: nothing left to replace.
    let (got, msg) = run(
        "the cat\nsat\n",
        json!({"regexp": "\\b(\\w+) \\1\\b", "replace": "\\g<1>"}),
    );
    assert_eq!((got.as_str(), msg.as_str()), ("the cat\nsat\n", ""));
}

#[test]
fn after_and_before_may_look_around() {
    let (got, _) = run(
        "x=1\n[s]\nx=1\n[t]\nx=1\n",
        json!({"regexp": "x=1", "replace": "x=2", "after": "(?<=\\[s\\])", "before": "(?=\\[t\\])"}),
    );
    assert_eq!(got, "x=1\n[s]\nx=2\n[t]\nx=1\n");
}

#[test]
fn a_path_under_home_is_expanded_as_ansible_expands_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fs::write(dir.path().join("f"), "a\n").unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.environment = vec![("HOME".into(), dir.path().display().to_string())];
    let out = h.apply(
        &Replace,
        json!({"path": "~/f", "regexp": "a", "replace": "b"}),
    );
    assert_eq!(out.msg, "1 replacements made");
    let got = fs::read_to_string(dir.path().join("f")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, "b\n");
}
