//! Stop means stop, over SSH (a real OpenSSH sshd on 127.0.0.1): when `dr` dies (kill -9)
//! the agent kills the running task and the next task never runs; a network cut (the sshd
//! serving the connection frozen with SIGSTOP) is noticed by `dr` within 15 s, and the
//! agent, hearing nothing more, stops too; a Ctrl-C reaches the agent as "stop after the
//! running task".

mod stopping;
mod util;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use dr_testbed::sshd::{KeyPair, Sshd};
use stopping::{finish, journal, lines, running, shown, signal, wait_for};
use util::write_tree;

/// One sshd "host" `h01` on loopback, trusted, with an inventory and a play whose second
/// task sleeps `marker` seconds between marker files under the host's root.
struct Host {
    dir: tempfile::TempDir,
    sshd: Sshd,
}

impl Host {
    fn start(marker: &str) -> Host {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
        let home = dir.path().join("h01");
        let set_env = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
        let sshd = Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env]);
        let root = home.join("root");
        std::fs::create_dir_all(&root).expect("the host's root");
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("known_hosts");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let inventory = format!(
            "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
             ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n  \
             hosts:\n    h01:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      root_dir: {}\n",
            key.private.display(),
            known_hosts.display(),
            sshd.port,
            root.display()
        );
        let play = format!(
            "- name: slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: one\n      command: touch {{{{ root_dir }}}}/one\n    - name: two\n      shell: touch {{{{ root_dir }}}}/two-started; sleep {marker} & wait; touch {{{{ root_dir }}}}/two-done\n    - name: three\n      command: touch {{{{ root_dir }}}}/three\n"
        );
        write_tree(
            dir.path(),
            &[("inventory.yml", &inventory), ("p.yml", &play)],
        );
        Host { dir, sshd }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn root(&self, file: &str) -> PathBuf {
        self.path().join("h01/root").join(file)
    }

    fn spawn_apply(&self) -> Child {
        self.spawn_apply_with(&[])
    }

    fn spawn_apply_with(&self, extra: &[&str]) -> Child {
        util::assert_fresh_agent();
        let agent = Path::new(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");
        std::process::Command::new(env!("CARGO_BIN_EXE_dr"))
            .args(["apply", "p.yml", "-i", "inventory.yml"])
            .args(extra)
            .current_dir(self.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .env("NO_COLOR", "1")
            .env("SSH_AUTH_SOCK", "")
            .env("DR_AGENT", agent)
            .spawn()
            .expect("dr starts")
    }

    /// The sshd processes serving connections (the listener's descendants named sshd).
    fn sessions(&self) -> Vec<u32> {
        let pid_file = self.sshd.dir.join("sshd.pid");
        let master: u32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", pid_file.display()))
            .trim()
            .parse()
            .expect("a pid");
        let procs: Vec<(u32, u32, String)> = std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let (head, tail) = stat.rsplit_once(')')?;
                let comm = head.split_once('(')?.1.to_owned();
                let ppid = tail.split_whitespace().nth(1)?.parse().ok()?;
                Some((pid, ppid, comm))
            })
            .collect();
        let mut found = vec![master];
        let mut grew = true;
        while grew {
            grew = false;
            for (pid, ppid, comm) in &procs {
                if found.contains(ppid) && !found.contains(pid) && comm.starts_with("sshd") {
                    found.push(*pid);
                    grew = true;
                }
            }
        }
        found.retain(|p| *p != master);
        found
    }
}

/// Frozen sshd processes, thawed when the test ends (pass or fail).
struct Frozen(Vec<u32>);

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
        }
    }
}

#[test]
fn kill_9_of_dr_stops_the_agent_and_the_next_task_never_runs() {
    let host = Host::start("6.0501");
    let child = host.spawn_apply();
    wait_for(&host.root("two-started"), Duration::from_secs(60));
    signal(child.id(), "KILL");
    let killed = Instant::now();
    let _ = finish(child, Duration::from_secs(5));
    while running("6.0501") {
        assert!(
            killed.elapsed() < Duration::from_secs(3),
            "the agent's task still runs {:?} after dr died:\n{}",
            killed.elapsed(),
            stopping::processes("6.0501")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(7));
    assert!(!host.root("two-done").exists(), "the running task went on");
    assert!(
        !host.root("three").exists(),
        "the next task ran on the host after dr died"
    );
}

#[test]
fn a_network_cut_is_noticed_within_15_s_and_the_agent_stops() {
    let host = Host::start("40.0502");
    let child = host.spawn_apply();
    wait_for(&host.root("two-started"), Duration::from_secs(60));
    let sessions = host.sessions();
    assert!(!sessions.is_empty(), "no sshd session process found");
    let frozen = Frozen(sessions);
    for pid in &frozen.0 {
        signal(*pid, "STOP");
    }
    let cut = Instant::now();
    let (out, took) = finish(child, Duration::from_secs(30));
    assert!(
        took <= Duration::from_secs(15),
        "dr noticed the cut after {took:?}\n{}",
        shown(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unreachable") && text.contains("connection to `h01` was lost"),
        "{}",
        shown(&out)
    );
    let journal = journal(host.path());
    let two = lines(&journal, "task_end")
        .into_iter()
        .find(|v| v["task"] == "two")
        .expect("the task running at the cut has an end line");
    assert_eq!(two["status"], "unknown", "{two}");
    let node = lines(&journal, "node_end")
        .into_iter()
        .next()
        .expect("the node has an end line")
        .clone();
    assert_eq!(node["outcome"], "unreachable", "{node}");
    assert_eq!(
        node["stats"]["changed"], 1,
        "what ran before the cut: {node}"
    );
    // The printed summary counts the same (it said `changed=0` for a host cut off).
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim() != "Summary")
        .filter(|l| l.trim_start().starts_with("h01 "))
        .collect();
    assert_eq!(summary.len(), 1, "{}", shown(&out));
    let counts: Vec<&str> = summary[0].split_whitespace().skip(1).collect();
    assert_eq!(
        counts,
        ["ok=0", "changed=1", "failed=0", "skipped=0"],
        "{}",
        shown(&out)
    );
    // The agent hears nothing more from dr either: it stops within its silence limit.
    while running("40.0502") {
        assert!(
            cut.elapsed() < Duration::from_secs(30),
            "the agent's task still runs {:?} after the cut",
            cut.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(frozen);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!host.root("two-done").exists(), "the running task went on");
    assert!(!host.root("three").exists(), "the next task ran");
}

/// `--format json` counts a host cut off mid-play as the journal does (its `stats` were all
/// zero).
#[test]
fn a_network_cut_keeps_the_hosts_counts_in_json() {
    let host = Host::start("40.0504");
    let child = host.spawn_apply_with(&["--format", "json"]);
    wait_for(&host.root("two-started"), Duration::from_secs(60));
    let frozen = Frozen(host.sessions());
    assert!(!frozen.0.is_empty(), "no sshd session process found");
    for pid in &frozen.0 {
        signal(*pid, "STOP");
    }
    let (out, _) = finish(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", shown(&out)));
    let node = &doc["nodes"][0];
    assert_eq!(node["outcome"], "unreachable", "{node}");
    assert_eq!(
        node["stats"]["changed"], 1,
        "what ran before the cut: {node}"
    );
    assert_eq!(doc["changed"], 1, "{doc}");
    while running("40.0504") {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(frozen);
}

#[test]
fn ctrl_c_reaches_the_agent_as_stop_after_the_running_task() {
    let host = Host::start("2.0503");
    let child = host.spawn_apply();
    wait_for(&host.root("two-started"), Duration::from_secs(60));
    signal(child.id(), "INT");
    let (out, _) = finish(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", shown(&out));
    assert!(
        host.root("two-done").exists(),
        "the running task was cut short"
    );
    assert!(!host.root("three").exists(), "the next task ran");
    let journal = journal(host.path());
    let node = lines(&journal, "node_end")
        .into_iter()
        .next()
        .expect("the node has an end line")
        .clone();
    assert_eq!(node["outcome"], "interrupted", "{node}");
    assert_eq!(node["stats"]["changed"], 2, "{node}");
}
