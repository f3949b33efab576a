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
    let up = json!({"port": port, "timeout": 2});
    let plan = h.check(&WaitFor, up.clone());
    assert!(
        !plan.outcome.changed && !plan.outcome.failed,
        "{}",
        plan.outcome.msg
    );
    assert!(plan.action.is_none());
    assert_eq!(plan.outcome.data["port"], json!(port));
    // Applying twice changes nothing either.
    assert!(!h.apply(&WaitFor, up.clone()).changed);

    let down = json!({"port": port, "state": "stopped", "timeout": 0.5, "sleep": 0.1});
    let out = h.apply(&WaitFor, down.clone());
    assert!(out.failed, "port is still open: must time out");
    assert!(
        out.msg.contains(&format!("port {port}")) && out.msg.contains("stopped"),
        "{}",
        out.msg
    );
    drop(l);
    let out = h.apply(&WaitFor, down);
    assert!(!out.failed && !out.changed, "{}", out.msg);
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
    let out = h.apply(&WaitFor, json!({"port": port, "timeout": 5, "sleep": 0.1}));
    assert!(!out.failed, "{}", out.msg);
    assert!(t.elapsed() >= Duration::from_millis(350));
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
    assert_eq!(out.data["match_groups"], json!(["9.2"]));
    assert_eq!(out.data["match_groupdict"], json!({"ver": "9.2"}));
    let _ = server.join();
}

#[test]
fn paths_present_absent_and_regex() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("ready");
    let path = p.display().to_string();
    let h = Harness::new();
    let before = snapshot(dir.path());
    let out = h.apply(
        &WaitFor,
        json!({"path": path, "timeout": 0.3, "sleep": 0.1}),
    );
    assert!(
        out.failed && out.msg.contains("to be started"),
        "{}",
        out.msg
    );
    assert!(
        !h.apply(
            &WaitFor,
            json!({"path": path, "state": "absent", "timeout": 1})
        )
        .failed
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "wait_for must not touch the disk"
    );

    std::fs::write(&p, "booting\n").unwrap_or_else(|e| panic!("{e}"));
    let re =
        json!({"path": path, "search_regex": "ready on port (\\d+)", "timeout": 0.3, "sleep": 0.1});
    let out = h.apply(&WaitFor, re.clone());
    assert!(out.failed && out.msg.contains("to match"), "{}", out.msg);
    std::fs::write(&p, "booting\nready on port 8080\n").unwrap_or_else(|e| panic!("{e}"));
    let plan = h.check(&WaitFor, re);
    assert!(!plan.outcome.failed && !plan.outcome.changed);
    assert_eq!(plan.outcome.data["match_groups"], json!(["8080"]));
}

#[test]
fn custom_msg_and_bad_arguments() {
    let h = Harness::new();
    let out = h.apply(
        &WaitFor,
        json!({"port": free_port(), "timeout": 0.2, "sleep": 0.1, "msg": "db-01 never came up"}),
    );
    assert_eq!(out.msg, "db-01 never came up");
    assert!(
        h.check_err(&WaitFor, json!({"port": 1, "path": "/x"}))
            .contains("not both")
    );
    assert!(
        h.check_err(&WaitFor, json!({"prot": 1}))
            .contains("unknown field `prot`")
    );
    assert!(
        h.check_err(&WaitFor, json!({"path": "/x", "search_regex": "("}))
            .contains("not a valid regex")
    );
    assert!(
        h.check_err(&WaitFor, json!({"port": 1, "state": "up"}))
            .contains("unknown variant")
    );
}
