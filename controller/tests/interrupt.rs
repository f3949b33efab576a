//! The first Ctrl-C during an apply: the task running on each host finishes, nothing new
//! starts (no next task, no next node), the journal records the node as interrupted (not
//! failed) with what it did, and the exit code is 130.

mod stopping;
mod util;

use std::time::Duration;

use stopping::{finish, journal, lines, shown, signal, spawn, wait_for};
use util::write_tree;

#[test]
fn first_ctrl_c_finishes_the_running_task_and_starts_nothing_new() {
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
                "- name: slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      command: touch first\n    - name: sleep\n      shell: touch sleeping; sleep 2; touch slept\n    - name: finished\n      command: touch finished\n- name: later\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: never\n      command: touch never\n",
            ),
        ],
    );
    let child = spawn(cwd, &["apply", "p.yml", "-i", "inv.yml"]);
    wait_for(&cwd.join("sleeping"), Duration::from_secs(20));
    signal(child.id(), "INT");
    let (out, _) = finish(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{}", shown(&out));
    assert!(
        stderr.contains("interrupted: finishing the running task on each host"),
        "{stderr}"
    );
    assert!(cwd.join("slept").exists(), "the running task was cut short");
    assert!(
        !cwd.join("finished").exists(),
        "a task started after the interrupt"
    );
    assert!(
        !cwd.join("never").exists(),
        "a new node started after the interrupt"
    );
    let journal = journal(cwd);
    let ends = lines(&journal, "node_end");
    let slow = ends
        .iter()
        .find(|v| v["play"] == "slow")
        .expect("slow ended");
    assert_eq!(slow["outcome"], "interrupted", "{slow}");
    assert_eq!(slow["stats"]["changed"], 2, "{slow}");
    let later = ends
        .iter()
        .find(|v| v["play"] == "later")
        .expect("later ended");
    assert_eq!(later["outcome"], "interrupted", "{later}");
    assert!(
        lines(&journal, "task_start")
            .iter()
            .all(|v| v["task"] != "finished"),
        "the journal shows a task started after the interrupt"
    );
    let end = journal.last().expect("a journal");
    assert_eq!(end["event"], "run_end");
    assert_eq!(end["interrupted"], true);
    assert_eq!(end["stop"], "after_task");
    assert_eq!(end["exit_code"], 130);
    assert_eq!(end["changed"], 2);
}
