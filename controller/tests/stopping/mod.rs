//! Helpers for the tests that stop a run: start `dr` in the background, wait for a marker
//! file a task writes, send signals, read the journal back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `dr` started in `cwd` with `args`, not waited for.
pub fn spawn(cwd: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env_remove("DR_VAULT_PASSWORD_FILE")
        .spawn()
        .expect("the dr binary starts")
}

/// Waits until `path` exists; fails the test after `within`.
pub fn wait_for(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "`{}` never appeared within {within:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (`INT`, `TERM`, `KILL`, `STOP`, `CONT`) to process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits for `child` to end within `within`, killing it and failing the test otherwise.
pub fn finish(mut child: Child, within: Duration) -> (Output, Duration) {
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waitpid works").is_some() {
            let out = child.wait_with_output().expect("the output is readable");
            return (out, started.elapsed());
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let out = child.wait_with_output().expect("the output is readable");
            panic!(
                "dr did not end within {within:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stdout and stderr, for assertion messages.
pub fn shown(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The only journal under `cwd/.dr/runs`.
pub fn journal_path(cwd: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cwd.join(".dr/runs"))
        .expect("a journal directory")
        .map(|e| e.expect("a readable entry").path())
        .collect();
    assert_eq!(files.len(), 1, "expected one journal: {files:?}");
    files.pop().expect("one journal")
}

/// The journal's lines, parsed.
pub fn journal(cwd: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(journal_path(cwd)).expect("a readable journal");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// The journal lines of one kind (`event` field).
pub fn lines<'a>(journal: &'a [Value], kind: &str) -> Vec<&'a Value> {
    journal.iter().filter(|v| v["event"] == kind).collect()
}

/// Whether a process whose command line contains `marker` is still running.
pub fn running(marker: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", marker])
        .status()
        .expect("pgrep runs")
        .success()
}

/// Whether process `pid` has SIGINT in its caught-signals mask (its handler is installed).
pub fn catches_sigint(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
}

/// The processes whose command line contains `marker`, as `ps` shows them (for messages).
pub fn processes(marker: &str) -> String {
    let out = Command::new("ps")
        .args(["-eo", "pid,ppid,pgid,sid,stat,args"])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(marker) || l.contains("dr-agent") || l.contains("sshd:"))
        .collect::<Vec<_>>()
        .join("\n")
}
