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

#[test]
fn a_backreference_in_regexp_matches_as_in_python() {
    // Ansible's own `lineinfile` target: `^(REF) .* \1$` finds `REF ... REF`.
    let args = json!({"regexp": "^(REF) .* \\1$", "line": "This is line 3", "backrefs": true});
    let initial = "This is line 1\nThis is line 2\nREF this is a line for backrefs REF\n";
    let once = run(Some(initial), args.clone());
    assert_eq!(
        once.as_deref(),
        Some("This is line 1\nThis is line 2\nThis is line 3\n")
    );
    assert_eq!(run(once.as_deref(), args).as_deref(), once.as_deref());
    // Not a match: `REF ... REX`.
    assert_eq!(
        run(
            Some("REF a REX\n"),
            json!({"regexp": "^(REF) .* \\1$", "line": "x", "backrefs": true})
        )
        .as_deref(),
        Some("REF a REX\n")
    );
}

#[test]
fn backrefs_expand_groups_of_a_backtracking_pattern() {
    assert_eq!(
        run(
            Some("key=key\nk=v\n"),
            json!({"regexp": "^(?P<k>\\w+)=(?P=k)$", "line": "\\g<k> twice", "backrefs": true})
        )
        .as_deref(),
        Some("key twice\nk=v\n")
    );
    // `state: absent` with a lookahead: only the line whose value follows.
    assert_eq!(
        run(
            Some("a=1\nb=\nc=3\n"),
            json!({"regexp": "^\\w+=(?=\\d)", "state": "absent"})
        )
        .as_deref(),
        Some("b=\n")
    );
}

#[test]
fn a_template_python_refuses_fails_the_task_naming_it() {
    let h = Harness::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, "aa\n").unwrap();
    let e = h.check_err(
        &LineInFile,
        json!({"path": path, "regexp": "^(a)\\1$", "line": "\\2", "backrefs": true}),
    );
    assert_eq!(
        e,
        "cannot expand `\\2` with the groups of `^(a)\\1$`: invalid group reference 2 at position 1"
    );
}

#[test]
fn a_backtracking_pattern_refuses_a_file_that_is_not_utf8() {
    let h = Harness::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1");
    fs::write(&path, b"caf\xe9\nREF a REF\n").unwrap();
    let e = h.check_err(
        &LineInFile,
        json!({"path": path, "regexp": "^(REF) .* \\1$", "line": "x"}),
    );
    assert_eq!(
        e,
        format!(
            "`{}` is not valid utf-8: the regular expression `^(REF) .* \\1$` uses a backreference, which dr matches in utf-8 text only (Python's `re` matches bytes)",
            path.display()
        )
    );
    // A pattern the `regex` crate runs still edits it.
    let plan = h.check(
        &LineInFile,
        json!({"path": path, "regexp": "^REF", "line": "x"}),
    );
    assert!(plan.outcome.changed && plan.action.is_some());
}

#[test]
fn an_empty_regexp_or_search_string_warns_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, "a\nb\n").unwrap();
    let h = Harness::new();
    let out = h.apply(
        &LineInFile,
        json!({"path": path, "regexp": "", "line": "c"}),
    );
    assert!(out.changed);
    assert_eq!(fs::read_to_string(&path).unwrap(), "a\nc\n");
    assert_eq!(
        out.data["warnings"],
        json!([
            "The regular expression is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending. If this is desired, use '^' to match every line in the file and avoid this warning."
        ])
    );
    let out = h.apply(
        &LineInFile,
        json!({"path": path, "search_string": "", "line": "c"}),
    );
    assert!(!out.changed);
    assert_eq!(
        out.data["warnings"],
        json!([
            "The search string is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending."
        ])
    );
    let out = h.apply(
        &LineInFile,
        json!({"path": path, "regexp": "^c", "line": "c"}),
    );
    assert!(!out.data.contains_key("warnings"));
}

#[test]
fn a_path_under_home_is_expanded_as_ansible_expands_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "TEST").unwrap();
    let mut h = Harness::new();
    h.environment = vec![("HOME".into(), dir.path().display().to_string())];
    let out = h.apply(
        &LineInFile,
        json!({"path": "~/f", "regexp": "TEST", "line": "UPDATE"}),
    );
    assert!(out.changed, "{out:?}");
    assert_eq!(
        fs::read_to_string(dir.path().join("f")).unwrap(),
        "UPDATE\n"
    );
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
            p.map(|p| super::LineRegex::line(&p).unwrap_or_else(|e| panic!("{e}")))
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
            .unwrap_or_else(|e| panic!("{e}"))
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
            .unwrap_or_else(|e| panic!("{e}"))
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
