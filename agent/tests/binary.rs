//! The `dr-agent` binary: one request on stdin, JSON lines on stdout.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use dr_agent::wire::{Event, PROTOCOL_VERSION, Status};

fn run_agent(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dr-agent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dr-agent: {e}"));
    // The request is one line; stdin then stays open (its end means "stop now").
    let mut pipe = child.stdin.take();
    if let Some(pipe) = pipe.as_mut().filter(|_| !stdin.is_empty()) {
        pipe.write_all(format!("{stdin}\n").as_bytes())
            .unwrap_or_else(|e| panic!("cannot write the request: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("dr-agent did not finish: {e}"));
    drop(pipe);
    out
}

fn request(protocol: u32) -> String {
    serde_json::json!({
        "protocol": protocol,
        "host": "local",
        "mode": "apply",
        "diff": false,
        "play": {"name": "p", "tasks": [
            {"module": "shell", "args": "echo hello from {{ who }}", "register": "r", "location": "p.yml:3:7"},
            {"module": "debug", "args": {"msg": "{{ r.stdout }}"}, "location": "p.yml:5:7"},
            {"module": "fail", "args": {"msg": "stop"}, "location": "p.yml:7:7"}
        ]},
        "vars": {"who": "dr"},
        "files": {}
    })
    .to_string()
}

#[test]
fn streams_json_lines_and_finishes_with_the_error() {
    let out = run_agent(&[], &request(PROTOCOL_VERSION));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Event> = stdout
        .lines()
        .map(|l| Event::from_line(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect();
    let statuses: Vec<Status> = events
        .iter()
        .filter_map(|e| match e {
            Event::TaskResult { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![Status::Changed, Status::Ok, Status::Failed]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Message { text } if text == "hello from dr"))
    );
    match events.last() {
        Some(Event::Finished { stats, error, .. }) => {
            assert_eq!(error.as_deref(), Some("stop (in task `fail` at p.yml:7:7)"));
            assert_eq!((stats.ok, stats.changed, stats.failed), (1, 1, 1));
        }
        other => panic!("last event is not Finished: {other:?}"),
    }
}

#[test]
fn protocol_mismatch_exits_2() {
    let out = run_agent(&[], &request(PROTOCOL_VERSION + 1));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("protocol mismatch"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn malformed_request_exits_2() {
    let out = run_agent(&[], "{not json");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed request"));
}

#[test]
fn version_names_the_protocol() {
    let out = run_agent(&["--version"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "dr-agent {} protocol {PROTOCOL_VERSION}",
            env!("CARGO_PKG_VERSION")
        )
    );
}
