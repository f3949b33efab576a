//! The agent's control channel: after the request line, stdin stays open. A `stop` message
//! lets the running task finish and starts nothing else; the end of stdin (the controller
//! is gone) kills the running task and its children at once, and nothing else runs.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use dr_agent::wire::{Control, Event, PROTOCOL_VERSION, Request};

/// A play that marks its progress in `dir`: `one`, then `two-started` … `two-done` around a
/// sleep of `sleep` seconds (with a child of its own), then `three`.
fn request(dir: &Path, sleep: u32) -> Request {
    let d = dir.display();
    serde_json::from_value(serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "host": "local",
        "mode": "apply",
        "diff": false,
        "play": {"name": "p", "tasks": [
            {"name": "one", "module": "shell", "args": format!("touch {d}/one"), "location": "p.yml:1:1"},
            {"name": "two", "module": "shell", "args": format!("touch {d}/two-started; sleep {sleep} & wait; touch {d}/two-done"), "location": "p.yml:2:1"},
            {"name": "three", "module": "shell", "args": format!("touch {d}/three"), "location": "p.yml:3:1"}
        ]},
        "vars": {},
        "files": {}
    }))
    .expect("a valid request")
}

fn start(request: &Request) -> (Child, ChildStdin) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dr-agent"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dr-agent: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(&request.to_line().expect("the request encodes"))
        .expect("the agent reads its request");
    (child, stdin)
}

fn wait_for(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "`{}` never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn events(child: Child) -> (Option<i32>, Vec<Event>, String) {
    let out = child.wait_with_output().expect("the agent ends");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Event::from_line(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect();
    (
        out.status.code(),
        events,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stop_lets_the_running_task_finish_and_starts_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (child, mut stdin) = start(&request(dir.path(), 1));
    wait_for(&dir.path().join("two-started"), Duration::from_secs(20));
    stdin.write_all(Control::Stop.to_line().as_bytes()).unwrap();
    let (code, events, stderr) = events(child);
    drop(stdin);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        dir.path().join("two-done").exists(),
        "the running task was cut short"
    );
    assert!(
        !dir.path().join("three").exists(),
        "a task started after the stop"
    );
    match events.last() {
        Some(Event::Finished {
            interrupted, stats, ..
        }) => {
            assert!(
                interrupted,
                "the end of the play does not say it was interrupted"
            );
            assert_eq!(stats.changed, 2);
        }
        other => panic!("last event is not Finished: {other:?}"),
    }
}

#[test]
fn the_end_of_stdin_kills_the_running_task_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let (child, stdin) = start(&request(dir.path(), 7));
    wait_for(&dir.path().join("two-started"), Duration::from_secs(20));
    let cut = Instant::now();
    drop(stdin);
    let (code, _, stderr) = events(child);
    assert!(
        cut.elapsed() < Duration::from_secs(3),
        "the agent took {:?} to stop",
        cut.elapsed()
    );
    assert_eq!(code, None, "the agent ends killed with its group: {stderr}");
    assert!(
        stderr.contains("the controller closed the connection"),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !dir.path().join("two-done").exists(),
        "the running task went on after the controller left"
    );
    assert!(!dir.path().join("three").exists(), "the next task ran");
}

#[test]
fn a_closed_stdout_stops_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, stdin) = start(&request(dir.path(), 2));
    // The controller reads the first event, then goes away without closing stdin.
    let mut first = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
    out.read_line(&mut first).unwrap();
    assert!(first.contains("task_start"), "{first}");
    drop(out);
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(!status.success());
    std::thread::sleep(Duration::from_secs(3));
    assert!(!dir.path().join("three").exists(), "the next task ran");
}
