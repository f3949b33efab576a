//! Failures say why: the detail sent with each result, and the message shown for a failure.

use serde_json::{Map, Value as Json, json};

use super::tests::{events, request, task};
use crate::wire::{Event, Status};

/// (status, msg, detail) of every task result.
fn shown(ev: &[Event]) -> Vec<(Status, String, Map<String, Json>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::TaskResult {
                status,
                msg,
                detail,
                ..
            } => Some((*status, msg.clone(), detail.clone())),
            _ => None,
        })
        .collect()
}

fn one(ev: &[Event]) -> (Status, String, Map<String, Json>) {
    shown(ev)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no task result in {ev:?}"))
}

#[test]
fn a_failed_command_shows_its_command_code_and_output() {
    let script = "for i in $(seq 1 15); do echo out$i; done; echo 'cannot open /etc/x' >&2; exit 3";
    let req = request(
        json!([task("shell", json!(script), json!({"register": "r"}))]),
        json!([]),
        json!({}),
    );
    let (status, msg, detail) = one(&events(&req));
    assert_eq!(status, Status::Failed);
    assert_eq!(detail["rc"], json!(3));
    assert_eq!(detail["cmd"], json!(script));
    assert_eq!(detail["stderr"], json!("cannot open /etc/x"));
    let expected = format!(
        "non-zero return code\ncmd: {script}\nrc: 3\nstderr:\n  cannot open /etc/x\nstdout (last 10 of 15 lines):\n{}",
        (6..=15)
            .map(|i| format!("  out{i}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(msg, expected);
}

#[test]
fn secrets_in_the_output_are_masked_and_no_log_shows_nothing() {
    let mut req = request(
        json!([
            task(
                "command",
                json!({"argv": ["sh", "-c", "echo token=s3cr3t-Value >&2; exit 1"]}),
                json!({"ignore_errors": true})
            ),
            task(
                "command",
                json!({"argv": ["sh", "-c", "echo s3cr3t-Value; exit 1"]}),
                json!({"no_log": true})
            ),
        ]),
        json!([]),
        json!({}),
    );
    req.secrets = vec!["s3cr3t-Value".into()];
    let ev = events(&req);
    let all = format!("{ev:?}");
    assert!(!all.contains("s3cr3t-Value"), "{all}");
    let results = shown(&ev);
    assert!(results[0].1.contains("token=********"), "{}", results[0].1);
    assert_eq!(results[0].2["stderr"], json!("token=********"));
    assert_eq!(results[1].1, super::NO_LOG_MSG);
    assert!(results[1].2.is_empty());
}

#[test]
fn a_no_log_task_s_output_stays_secret_but_not_a_file_s_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made");
    let req = request(
        json!([
            task(
                "file",
                json!({"path": path.display().to_string(), "state": "directory"}),
                json!({"no_log": true})
            ),
            task(
                "command",
                json!({"argv": ["echo", "Generated-Token-42"]}),
                json!({"no_log": true})
            ),
            task(
                "debug",
                json!({"msg": "a directory, and Generated-Token-42"}),
                json!({})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let results = shown(&events(&req));
    assert_eq!(results[2].1, "a directory, and ********", "{results:?}");
}

#[test]
fn failed_when_shows_the_condition_and_what_it_read() {
    let req = request(
        json!([task(
            "command",
            json!("echo fw"),
            json!({"register": "r", "failed_when": ["r.stdout == 'fw'", "limit > 2"]})
        )]),
        json!([]),
        json!({"limit": 3}),
    );
    let ev = events(&req);
    let (status, msg, detail) = one(&ev);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        detail["failed_when"],
        json!("r.stdout == 'fw' and limit > 2")
    );
    assert_eq!(detail["failed_when_result"], json!(true));
    assert_eq!(detail["values"], json!({"r.stdout": "fw", "limit": 3}));
    assert_eq!(
        msg,
        "the `failed_when` condition held\nfailed_when: r.stdout == 'fw' and limit > 2\nfailed_when_result: true\ncmd: echo fw\nrc: 0\nstdout:\n  fw\nwith:\n  r.stdout = \"fw\"\n  limit = 3"
    );
    // A condition that does not hold is recorded too, as Ansible does.
    let req = request(
        json!([
            task(
                "command",
                json!("echo ok"),
                json!({"register": "r", "failed_when": ["r.rc != 0"]})
            ),
            task(
                "debug",
                json!({"msg": "{{ r.failed_when_result }}"}),
                json!({})
            ),
        ]),
        json!([]),
        json!({}),
    );
    let ev = events(&req);
    assert_eq!(super::tests::messages(&ev), ["false"]);
}

#[test]
fn a_failed_assert_shows_the_assertion_and_its_values() {
    let req = request(
        json!([
            task(
                "assert",
                json!({"that": ["x == 3", "x > 5"]}),
                json!({"register": "a", "ignore_errors": true})
            ),
            task(
                "debug",
                json!({"msg": "{{ a.assertion }} {{ a.evaluated_to }} {{ a.msg }}"}),
                json!({})
            )
        ]),
        json!([]),
        json!({"x": 3}),
    );
    let ev = events(&req);
    let (status, msg, _) = one(&ev);
    assert_eq!(status, Status::Failed);
    assert_eq!(
        msg,
        "Assertion failed\nassertion: x > 5\nevaluated_to: false\nwith:\n  x = 3"
    );
    assert_eq!(
        super::tests::messages(&ev),
        ["x > 5 False Assertion failed"]
    );
}

#[test]
fn a_successful_command_sends_its_output_for_verbose_display() {
    let req = request(
        json!([task("shell", json!("echo hello; echo warn >&2"), json!({}))]),
        json!([]),
        json!({}),
    );
    let (status, msg, detail) = one(&events(&req));
    assert_eq!(status, Status::Changed);
    assert_eq!(msg, "");
    assert_eq!(
        Json::Object(detail),
        json!({"cmd": "echo hello; echo warn >&2", "rc": 0, "stderr": "warn", "stdout": "hello"})
    );
}
