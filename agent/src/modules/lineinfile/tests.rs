use std::fs;

use serde_json::{Value as Json, json};

use super::LineInFile;
use crate::modules::testutil::{Harness, edit_file};

/// The content [`edit_file`] leaves.
fn run(initial: Option<&str>, args: Json) -> Option<String> {
    edit_file(&LineInFile, initial, args).0
}

#[test]
fn appends_a_newline_first_when_the_file_lacks_one() {
    assert_eq!(
        run(Some("a\nb"), json!({"line": "c"})).as_deref(),
        Some("a\nb\nc\n")
    );
}

#[test]
fn regexp_replaces_the_last_match() {
    assert_eq!(
        run(
            Some("port=1\nx\nport=2\n"),
            json!({"regexp": "^port=", "line": "port=5"})
        )
        .as_deref(),
        Some("port=1\nx\nport=5\n")
    );
}

#[test]
fn regexp_dollar_matches_before_the_newline_like_python() {
    assert_eq!(
        run(
            Some("a=1\nb=2\n"),
            json!({"regexp": "^b=2$", "line": "b=3"})
        )
        .as_deref(),
        Some("a=1\nb=3\n")
    );
}

#[test]
fn backrefs_without_a_match_change_nothing() {
    assert_eq!(
        run(
            Some("x\n"),
            json!({"regexp": "^(host)=(.*)$", "line": "\\1=db02", "backrefs": true})
        )
        .as_deref(),
        Some("x\n")
    );
}

#[test]
fn backrefs_expand_groups() {
    assert_eq!(
        run(
            Some("host=db01\n"),
            json!({"regexp": "^(host)=(.*)$", "line": "\\1=db02", "backrefs": true})
        )
        .as_deref(),
        Some("host=db02\n")
    );
}

#[test]
fn insertafter_and_insertbefore() {
    assert_eq!(
        run(
            Some("[main]\nkey=1\n"),
            json!({"insertafter": "^\\[main\\]", "line": "new=2"})
        )
        .as_deref(),
        Some("[main]\nnew=2\nkey=1\n")
    );
    assert_eq!(
        run(Some("a\nb\n"), json!({"insertbefore": "^b", "line": "x"})).as_deref(),
        Some("a\nx\nb\n")
    );
    assert_eq!(
        run(Some("a\n"), json!({"insertbefore": "BOF", "line": "x"})).as_deref(),
        Some("x\na\n")
    );
    assert_eq!(
        run(Some("a\n"), json!({"insertafter": "^nomatch", "line": "x"})).as_deref(),
        Some("a\nx\n")
    );
}

#[test]
fn an_existing_last_line_without_newline_gets_one() {
    assert_eq!(
        run(Some("a\nb"), json!({"line": "b"})).as_deref(),
        Some("a\nb\n")
    );
    assert_eq!(
        run(Some("a\nb\n"), json!({"line": "a"})).as_deref(),
        Some("a\nb\n")
    );
}

#[test]
fn absent_removes_every_match() {
    assert_eq!(
        run(
            Some("k=1\nx\nk=2\n"),
            json!({"regexp": "^k=", "state": "absent"})
        )
        .as_deref(),
        Some("x\n")
    );
    assert_eq!(
        run(Some("a\nb\r\n"), json!({"line": "b", "state": "absent"})).as_deref(),
        Some("a\n")
    );
}

#[test]
fn create_makes_the_file_and_missing_parents() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("sub/dir/f");
    let h = Harness::new();
    let args = json!({"path": path.display().to_string(), "line": "x", "create": true});
    assert!(h.apply(&LineInFile, args.clone()).changed);
    assert_eq!(fs::read_to_string(&path).ok().as_deref(), Some("x\n"));
    assert!(!h.check(&LineInFile, args).outcome.changed);
}

#[test]
fn missing_file_without_create_fails() {
    let h = Harness::new();
    let err = h.check_err(
        &LineInFile,
        json!({"path": "/nonexistent/dr/f", "line": "x"}),
    );
    assert!(err.contains("does not exist"), "{err}");
}

/// Expected outputs computed by running Ansible's own `present()`/`absent()` algorithm
/// (ansible-core `lib/ansible/modules/lineinfile.py`) over every file × parameter pair:
/// `[initial content, parameters, resulting content]`.
const ANSIBLE_CASES: &str = include_str!("ansible_cases.json");

#[test]
fn matches_ansible_byte_for_byte() {
    let cases: Vec<(String, Json, String)> =
        serde_json::from_str(ANSIBLE_CASES).unwrap_or_else(|e| panic!("bad fixture: {e}"));
    assert!(cases.len() > 200);
    for (initial, params, expected) in cases {
        let lines: Vec<Vec<u8>> = initial
            .as_bytes()
            .split_inclusive(|c| *c == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        let s = |k: &str| params.get(k).and_then(Json::as_str).map(str::to_owned);
        let b = |k: &str| params.get(k).and_then(Json::as_bool).unwrap_or(false);
        let compile = |p: Option<String>| {
            p.map(|p| regex::bytes::Regex::new(&p).unwrap_or_else(|e| panic!("{e}")))
        };
        let regexp = compile(s("regexp"));
        let line = s("line");
        let got = if s("state").as_deref() == Some("absent") {
            super::absent(
                lines,
                regexp.as_ref(),
                s("search_string").as_deref(),
                line.as_deref(),
            )
            .0
        } else {
            let (after, before) = (s("insertafter"), s("insertbefore"));
            let anchor = compile(match (&after, &before) {
                (Some(a), _) if a != "BOF" && a != "EOF" => Some(a.clone()),
                (None, Some(b)) if b != "BOF" => Some(b.clone()),
                _ => None,
            });
            let line = line.unwrap_or_default();
            super::present(
                lines,
                &super::Params {
                    regexp: regexp.as_ref(),
                    search_string: s("search_string").as_deref(),
                    line: line.as_bytes(),
                    insertafter: after.as_deref(),
                    insertbefore: before.as_deref(),
                    anchor: anchor.as_ref(),
                    backrefs: b("backrefs"),
                    firstmatch: b("firstmatch"),
                },
            )
            .0
        };
        assert_eq!(
            String::from_utf8_lossy(&got.concat()),
            expected,
            "initial {initial:?} with {params}"
        );
    }
}

#[test]
fn a_missing_destination_fails_with_ansibles_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    let err = Harness::new().check_err(&LineInFile, json!({"path": path, "line": "x"}));
    assert_eq!(
        err,
        format!("Destination {} does not exist !", path.display())
    );
}

#[test]
fn the_backup_is_named_in_backup_as_ansible_names_it() {
    // Ansible's `lineinfile` returns `backup` (empty without one), named
    // `PATH.PID.YYYY-MM-DD@HH:MM:SS~`; its other modules say `backup_file`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, "a\n").unwrap();
    let h = Harness::new();
    let p = path.display().to_string();
    let plain = h.apply(&LineInFile, json!({"path": p, "line": "b"}));
    assert_eq!(plain.data["backup"], json!(""));
    let backed = h.apply(&LineInFile, json!({"path": p, "line": "c", "backup": true}));
    let name = backed.data["backup"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let prefix = format!("{p}.{}.", std::process::id());
    assert!(name.starts_with(&prefix) && name.ends_with('~'), "{name}");
    assert_eq!(fs::read_to_string(&name).unwrap(), "a\nb\n");
    assert!(!backed.data.contains_key("backup_file"));
}
