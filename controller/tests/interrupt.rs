//! Ctrl-C during an apply: nothing new starts, the running node finishes cleanly, the
//! journal records "interrupted" for what never ran, and the exit code is 1.

mod util;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::write_tree;

#[test]
fn interrupt_lets_running_nodes_finish_and_records_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- name: slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: started\n      command: touch started\n    - name: sleep\n      command: sleep 2\n    - name: finished\n      command: touch finished\n- name: later\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: never\n      command: touch never\n",
            ),
        ],
    );
    let child = Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(["apply", "p.yml", "-i", "inv.yml"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cwd.join("started").exists() {
        assert!(Instant::now() < deadline, "the first task never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("interrupted: letting running nodes finish"),
        "{stderr}"
    );
    assert!(
        cwd.join("finished").exists(),
        "the running node was cut off"
    );
    assert!(
        !cwd.join("never").exists(),
        "a new node started after the interrupt"
    );
    let journal = std::fs::read_dir(cwd.join(".dr/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(journal).unwrap();
    let later_end = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event"] == "node_end" && v["play"] == "later")
        .expect("a node_end for the play that never ran");
    assert_eq!(later_end["outcome"], "interrupted");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("\"interrupted\":true"),
        "{text}"
    );
}
