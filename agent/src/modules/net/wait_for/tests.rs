use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;

use super::WaitFor;
use crate::modules::testutil::{Harness, snapshot};

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    (l, port)
}

/// A port nothing listens on: bind, note the port, close.
fn free_port() -> u16 {
    listener().1
}

#[test]
fn port_started_and_stopped_against_a_real_listener() {
    let (l, port) = listener();
    let h = Harness::new();
    let out = h.apply(&WaitFor, json!({"port": port, "timeout": 2}));
    assert!(!out.changed && !out.failed, "{}", out.msg);
    assert_eq!(
        serde_json::Value::Object(out.data),
        json!({"state": "started", "port": port, "search_regex": null, "match_groups": [],
               "match_groupdict": {}, "path": null, "elapsed": 0})
    );

    let down = json!({"port": port, "state": "stopped", "timeout": 1});
    let out = h.apply(&WaitFor, down.clone());
    assert!(out.failed, "port is still open: must time out");
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for 127.0.0.1:{port} to stop.")
    );
    assert_eq!(out.data["elapsed"], json!(1));
    drop(l);
    let out = h.apply(&WaitFor, down);
    assert!(!out.failed && !out.changed, "{}", out.msg);
    assert_eq!(out.data["state"], json!("stopped"));
}

#[test]
fn check_mode_skips_as_ansible_does() {
    let h = Harness::new();
    // A port nothing listens on would take the whole timeout if it were waited for.
    let plan = h.check(&WaitFor, json!({"port": free_port(), "timeout": 30}));
    assert!(plan.outcome.skipped && !plan.outcome.changed);
    assert_eq!(
        plan.outcome.msg,
        "remote module (wait_for) does not support check mode"
    );
    assert!(plan.action.is_some());
}

#[test]
fn port_timeout_in_ansibles_words_and_seconds() {
    let h = Harness::new();
    let port = free_port();
    let t = Instant::now();
    let out = h.apply(&WaitFor, json!({"port": port, "timeout": 1}));
    assert!(out.failed);
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for 127.0.0.1:{port}")
    );
    assert_eq!(serde_json::Value::Object(out.data), json!({"elapsed": 1}));
    assert!(t.elapsed() >= Duration::from_secs(1));
    let out = h.apply(
        &WaitFor,
        json!({"port": port, "timeout": 1, "search_regex": "ready"}),
    );
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for search string ready in 127.0.0.1:{port}")
    );
}

#[test]
fn port_that_opens_later_is_waited_for() {
    let port = free_port();
    let opener = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(1500));
        drop(l);
    });
    let h = Harness::new();
    let t = Instant::now();
    let out = h.apply(&WaitFor, json!({"port": port, "timeout": 5}));
    assert!(!out.failed, "{}", out.msg);
    assert!(t.elapsed() >= Duration::from_millis(350));
    assert_eq!(out.data["elapsed"], json!(1));
    let _ = opener.join();
}

#[test]
fn search_regex_on_a_port_reads_the_banner() {
    let (l, port) = listener();
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
        }
    });
    let h = Harness::new();
    let out = h.apply(
        &WaitFor,
        json!({"port": port, "search_regex": "OpenSSH_(?P<ver>[0-9.]+)", "timeout": 3}),
    );
    assert!(!out.failed, "{}", out.msg);
    // As Ansible: captures are only given for a path.
    assert_eq!(out.data["match_groups"], json!([]));
    assert_eq!(out.data["search_regex"], json!("OpenSSH_(?P<ver>[0-9.]+)"));
    let _ = server.join();
}

#[test]
fn paths_present_absent_and_regex() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("ready");
    let path = p.display().to_string();
    let h = Harness::new();
    let before = snapshot(dir.path());
    let out = h.apply(&WaitFor, json!({"path": path, "timeout": 1}));
    assert_eq!(out.msg, format!("Timeout when waiting for file {path}"));
    let out = h.apply(
        &WaitFor,
        json!({"path": path, "state": "absent", "timeout": 1}),
    );
    assert!(!out.failed, "{}", out.msg);
    assert_eq!(out.data["path"], json!(path));
    assert_eq!(out.data["state"], json!("absent"));
    assert_eq!(
        snapshot(dir.path()),
        before,
        "wait_for must not touch the disk"
    );

    std::fs::write(&p, "booting\n").unwrap_or_else(|e| panic!("{e}"));
    let out = h.apply(
        &WaitFor,
        json!({"path": path, "state": "absent", "timeout": 1}),
    );
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for {path} to be absent.")
    );
    let re = json!({"path": path, "search_regex": "^ready on port (\\d+)$", "timeout": 1});
    let out = h.apply(&WaitFor, re.clone());
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for search string ^ready on port (\\d+)$ in {path}")
    );
    // MULTILINE, as Ansible compiles it; the text need not be UTF-8.
    std::fs::write(&p, b"\xff\xfebooting\nready on port 8080\n").unwrap_or_else(|e| panic!("{e}"));
    let out = h.apply(&WaitFor, re);
    assert!(!out.failed, "{}", out.msg);
    assert_eq!(out.data["match_groups"], json!(["8080"]));
    assert_eq!(out.data["match_groupdict"], json!({}));
    // Ansible's `exit_json` describes the path found, its `state` included.
    assert_eq!(out.data["state"], json!("file"));
    assert_eq!(out.data["size"], json!(29));
}

#[test]
fn path_is_expanded_as_ansibles_type_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("f"), "x").unwrap_or_else(|e| panic!("{e}"));
    let mut h = Harness::new();
    h.environment = vec![("HOME".into(), dir.path().display().to_string())];
    let out = h.apply(&WaitFor, json!({"path": "~/f", "timeout": 1}));
    assert!(!out.failed, "{}", out.msg);
    assert_eq!(
        out.data["path"],
        json!(format!("{}/f", dir.path().display()))
    );
}

#[test]
fn delay_counts_in_the_timeout_and_a_bare_timeout_sleeps() {
    let h = Harness::new();
    let out = h.apply(&WaitFor, json!({"timeout": 1, "delay": 1}));
    assert!(!out.failed, "{}", out.msg);
    assert_eq!(out.data["elapsed"], json!(2));
    // With a port, `delay` is part of `timeout`: no look is left after it.
    let port = free_port();
    let out = h.apply(&WaitFor, json!({"port": port, "timeout": 1, "delay": 1}));
    assert!(out.failed);
    assert_eq!(out.data["elapsed"], json!(1));
}

#[test]
fn custom_msg_and_ansibles_refusals() {
    let h = Harness::new();
    let out = h.apply(
        &WaitFor,
        json!({"port": free_port(), "timeout": 1, "msg": "db-01 never came up"}),
    );
    assert_eq!(out.msg, "db-01 never came up");
    assert_eq!(out.data["elapsed"], json!(1));
    for (args, msg) in [
        (
            json!({"port": 1, "path": "/x"}),
            "port and path parameter can not both be passed to wait_for",
        ),
        (
            json!({"path": "/x", "state": "stopped"}),
            "state=stopped should only be used for checking a port in the wait_for module",
        ),
        (
            json!({"path": "/x", "state": "drained"}),
            "state=drained should only be used for checking a port in the wait_for module",
        ),
        (
            json!({"port": 1, "exclude_hosts": "10.0.0.1"}),
            "exclude_hosts should only be with state=drained",
        ),
        (
            json!({"port": 1, "state": "drained", "active_connection_states": ["LISTEN"]}),
            "unknown active_connection_state (LISTEN) defined",
        ),
    ] {
        let out = h.apply(&WaitFor, args);
        assert!(out.failed);
        assert_eq!(out.msg, msg);
        assert_eq!(out.data["elapsed"], json!(0));
    }
    assert!(
        h.check_err(&WaitFor, json!({"prot": 1}))
            .contains("unknown field `prot`")
    );
    let out = h.apply(&WaitFor, json!({"path": "/x", "search_regex": "("}));
    assert!(
        out.failed && out.msg.starts_with("Invalid regular expression: "),
        "{}",
        out.msg
    );
    assert!(
        h.check_err(&WaitFor, json!({"port": 1, "state": "up"}))
            .contains(
                "value of state must be one of: absent, drained, present, started, stopped, got: up"
            )
    );
    assert!(
        h.check_err(&WaitFor, json!({"port": 1, "timeout": 0.5}))
            .contains("cannot be converted to an int")
    );
}

#[test]
fn drained_waits_for_active_connections_to_close() {
    let (l, port) = listener();
    let h = Harness::new();
    // A listener alone is no active connection.
    let out = h.apply(
        &WaitFor,
        json!({"port": port, "state": "drained", "timeout": 2}),
    );
    assert!(!out.failed, "{}", out.msg);
    assert_eq!(out.data["state"], json!("drained"));
    let client =
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let out = h.apply(
        &WaitFor,
        json!({"port": port, "state": "drained", "timeout": 1}),
    );
    assert_eq!(
        out.msg,
        format!("Timeout when waiting for 127.0.0.1:{port} to drain")
    );
    drop(client);
    drop(l);
}
