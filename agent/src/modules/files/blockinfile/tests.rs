use serde_json::{Value as Json, json};

use super::BlockInFile;
use crate::modules::testutil::{Harness, edit_file};

/// The content and message of [`edit_file`].
fn run(initial: Option<&str>, args: Json) -> (Option<String>, String) {
    let (content, out) = edit_file(&BlockInFile, initial, args);
    (content, out.msg)
}

const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK\n";
const E: &str = "# END ANSIBLE MANAGED BLOCK\n";

#[test]
fn inserts_at_eof_then_replaces_in_place() {
    let (got, msg) = run(Some("a\nb"), json!({"block": "x\ny"}));
    assert_eq!(got.unwrap_or_default(), format!("a\nb\n{B}x\ny\n{E}"));
    assert_eq!(msg, "Block inserted");
    let (got, _) = run(
        Some(&format!("a\n{B}old\n{E}z\n")),
        json!({"block": "new", "insertbefore": "BOF"}),
    );
    assert_eq!(got.unwrap_or_default(), format!("a\n{B}new\n{E}z\n"));
}

#[test]
fn placement_by_regex_bof_and_newlines() {
    let (got, _) = run(
        Some("[a]\nk=1\n[b]\nk=2\n"),
        json!({"block": "x", "insertafter": "^\\[a\\]", "append_newline": true}),
    );
    assert_eq!(
        got.unwrap_or_default(),
        format!("[a]\n{B}x\n{E}\nk=1\n[b]\nk=2\n")
    );
    let (got, _) = run(
        Some("a\nb\n"),
        json!({"block": "x", "insertbefore": "^b", "prepend_newline": true}),
    );
    assert_eq!(got.unwrap_or_default(), format!("a\n\n{B}x\n{E}b\n"));
    let (got, _) = run(Some("a\n"), json!({"block": "x", "insertbefore": "BOF"}));
    assert_eq!(got.unwrap_or_default(), format!("{B}x\n{E}a\n"));
}

#[test]
fn absent_and_empty_block_remove_it() {
    let init = format!("a\n{B}x\n{E}b\n");
    let (got, msg) = run(Some(&init), json!({"state": "absent"}));
    assert_eq!(
        (got.unwrap_or_default(), msg.as_str()),
        ("a\nb\n".to_owned(), "Block removed")
    );
    let (got, _) = run(Some(&init), json!({"block": ""}));
    assert_eq!(got.unwrap_or_default(), "a\nb\n");
}

#[test]
fn custom_markers_and_create() {
    let (got, msg) = run(
        None,
        json!({"block": "k: v", "create": true, "marker": "<!-- {mark} x -->",
               "marker_begin": "start", "marker_end": "stop"}),
    );
    assert_eq!(
        got.unwrap_or_default(),
        "<!-- start x -->\nk: v\n<!-- stop x -->\n"
    );
    assert_eq!(msg, "File created");
    let h = Harness::new();
    let e = h.check_err(
        &BlockInFile,
        json!({"path": "/nonexistent/f", "block": "x"}),
    );
    assert_eq!(e, "Path /nonexistent/f does not exist !");
    let (got, msg) = run(None, json!({"state": "absent", "create": true}));
    assert_eq!(got, None);
    assert!(
        msg.starts_with("File ") && msg.ends_with(" not present"),
        "{msg}"
    );
}
