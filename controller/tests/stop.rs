//! Stop means stop, on the local connection: a second Ctrl-C or a SIGTERM kills the running
//! task (and its children) at once; a Ctrl-C in the first instant of a run still ends the
//! journal; and the journal of a run cut off by `kill -9` still tells `dr report` what ran.

mod stopping;
mod util;

use std::time::{Duration, Instant};

use stopping::{
    catches_sigint, finish, journal, journal_path, lines, running, shown, signal, spawn, wait_for,
};
use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n";

/// A play whose second task sleeps `marker` seconds (a number unique to the test, so its
/// process can be found), between marker files.
fn play(marker: &str) -> String {
    format!(
        "- name: slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      command: touch first\n    - name: sleep\n      shell: touch sleeping; sleep {marker} & wait; touch slept\n    - name: finished\n      command: touch finished\n- name: later\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: never\n      command: touch never\n"
    )
}

/// Starts the apply, waits for the sleeping task, sends `signals`, and checks that the run
/// ended at once, killed the task, and journaled it as interrupted.
fn killed_by(signals: &[&str], marker: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(cwd, &[("inv.yml", INVENTORY), ("p.yml", &play(marker))]);
    let child = spawn(cwd, &["apply", "p.yml", "-i", "inv.yml"]);
    wait_for(&cwd.join("sleeping"), Duration::from_secs(20));
    let pid = child.id();
    for s in signals {
        signal(pid, s);
        std::thread::sleep(Duration::from_millis(200));
    }
    let (out, took) = finish(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", shown(&out));
    assert!(
        took < Duration::from_secs(3),
        "dr took {took:?} to stop\n{}",
        shown(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("killing the running tasks"),
        "{}",
        shown(&out)
    );
    assert!(!running(marker), "the killed task's process lives on");
    std::thread::sleep(Duration::from_secs(4));
    assert!(!cwd.join("slept").exists(), "the running task went on");
    assert!(!cwd.join("finished").exists(), "the next task ran");
    assert!(!cwd.join("never").exists(), "the next node ran");
    let journal = journal(cwd);
    let sleep_end = lines(&journal, "task_end")
        .into_iter()
        .find(|v| v["task"] == "sleep")
        .expect("the killed task has an end line");
    assert_eq!(sleep_end["status"], "interrupted", "{sleep_end}");
    let slow = lines(&journal, "node_end")
        .into_iter()
        .find(|v| v["play"] == "slow")
        .expect("the node has an end line");
    assert_eq!(slow["outcome"], "interrupted");
    assert_eq!(slow["stats"]["changed"], 1, "{slow}");
    let end = journal.last().expect("a journal");
    assert_eq!(end["event"], "run_end", "{end}");
    assert_eq!(end["stop"], "now");
    assert_eq!(end["exit_code"], 130);
}

#[test]
fn second_ctrl_c_kills_the_running_task() {
    killed_by(&["INT", "INT"], "7.0301");
}

#[test]
fn sigterm_kills_the_running_task() {
    killed_by(&["TERM"], "7.0302");
}

#[test]
fn ctrl_c_in_the_first_instant_still_ends_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(cwd, &[("inv.yml", INVENTORY), ("p.yml", &play("7.0303"))]);
    let child = spawn(cwd, &["apply", "p.yml", "-i", "inv.yml"]);
    // As soon as dr can take a Ctrl-C at all (its handler is installed), before any work.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !catches_sigint(child.id()) {
        assert!(
            Instant::now() < deadline,
            "dr never installed a SIGINT handler"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    signal(child.id(), "INT");
    let (out, _) = finish(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", shown(&out));
    assert!(
        !cwd.join("first").exists(),
        "a task ran after the interrupt"
    );
    let journal = journal(cwd);
    let end = journal.last().expect("a journal");
    assert_eq!(end["event"], "run_end", "{end}");
    assert_eq!(end["interrupted"], true);
    assert!(lines(&journal, "node_start").is_empty(), "a node started");
    assert!(
        lines(&journal, "node_end")
            .iter()
            .all(|v| v["outcome"] == "interrupted")
    );
}

#[test]
fn a_run_killed_hard_still_reports_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(cwd, &[("inv.yml", INVENTORY), ("p.yml", &play("7.0304"))]);
    let child = spawn(cwd, &["apply", "p.yml", "-i", "inv.yml"]);
    wait_for(&cwd.join("sleeping"), Duration::from_secs(20));
    // The journal line of the first task is written right after its result arrives.
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "KILL");
    let _ = finish(child, Duration::from_secs(10));
    // A cut last line, as a kill in the middle of a write leaves.
    let path = journal_path(cwd);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"at\":\"2026-11-28T10:00:0");
    std::fs::write(&path, text).unwrap();
    let report = Dr::new(cwd, &["report"]).run();
    report
        .code(0)
        .stdout_has("incomplete")
        .stdout_has("the last line of the journal is cut off")
        .stdout_has("`h1` · first: changed")
        .stdout_has("- `slow` on `h1`: no end recorded (the run was cut off)");
    let stage = report
        .stdout
        .lines()
        .find(|l| l.starts_with("| 1 | slow |"))
        .unwrap_or_else(|| panic!("no row for stage 1:\n{}", report.stdout));
    assert!(
        stage.contains("| cut off | at least ") && stage.ends_with("| 1 |"),
        "{stage}"
    );
    let json = Dr::new(cwd, &["report", "--format", "json"]).run();
    let doc = json.code(0).json();
    assert_eq!(doc["stages"][0]["changed"], 1, "{doc}");
    assert_eq!(doc["stages"][0]["ended"], false, "{doc}");
    assert_eq!(doc["cut_last_line"], true, "{doc}");
}

#[test]
fn report_defaults_to_the_latest_run_plan_or_apply() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            ("inv.yml", INVENTORY),
            (
                "p.yml",
                "- name: one\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: t\n      command: touch t\n",
            ),
        ],
    );
    Dr::new(cwd, &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    Dr::new(cwd, &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(2);
    Dr::new(cwd, &["report"])
        .run()
        .code(0)
        .stdout_has("# Drill report: plan p.yml");
}
