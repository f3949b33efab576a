//! `become` on the local connection when dr does not run as root: as Ansible's local
//! connection, the play's agent runs through `sudo -n [-u USER]`, or the run fails saying
//! sudo wants a password (dr never prompts). dr runs as a user of the test's own, allowed by
//! a sudoers rule for the agent binary alone, removed when the test ends.
//!
//! Needs root (to make that user and rule) and sudo: `tests/run` has both.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use util::write_tree;

const USER: &str = "dr-local-become";
const RULE: &str = "/etc/sudoers.d/dr-local-become-test";

/// The sudoers rule, removed when dropped.
struct Rule;

impl Rule {
    fn allow(agent: &Path) -> Rule {
        std::fs::write(
            RULE,
            format!("{USER} ALL=(ALL) NOPASSWD: {}\n", agent.display()),
        )
        .expect("write the sudoers rule");
        std::fs::set_permissions(RULE, std::fs::Permissions::from_mode(0o440)).unwrap();
        Rule
    }
}

impl Drop for Rule {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(RULE);
    }
}

/// dr and its agent where the test's user may run them.
fn binaries(dir: &Path) -> (PathBuf, PathBuf) {
    util::assert_fresh_agent();
    let dr = PathBuf::from(env!("CARGO_BIN_EXE_dr"));
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    for name in ["dr", "dr-agent"] {
        std::fs::copy(dr.with_file_name(name), bin.join(name)).expect("copy the binary");
    }
    (bin.join("dr"), bin.join("dr-agent"))
}

fn run_as_user(dr: &Path, dir: &Path, playbook: &str) -> (i32, String) {
    let out = Command::new("runuser")
        .args(["-u", USER, "--"])
        .arg(dr)
        .args(["apply", playbook, "-i", "inv.yml", "--yes"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("runuser runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_play_that_escalates_runs_its_agent_through_sudo() {
    assert!(
        util::pg::is_root(),
        "this test needs root: it makes a user and a sudoers rule"
    );
    assert!(
        Path::new("/usr/bin/sudo").is_file(),
        "install sudo (`apt-get install -y sudo`)"
    );
    let exists = Command::new("id")
        .arg(USER)
        .output()
        .unwrap()
        .status
        .success();
    if !exists {
        let made = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/bin/sh", USER])
            .status()
            .expect("useradd runs");
        assert!(made.success(), "cannot make the test's user `{USER}`");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (dr, agent) = binaries(dir.path());
    let work = dir.path().join("work");
    write_tree(
        &work,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1: {ansible_connection: local}\n",
            ),
            (
                "root.yml",
                "- hosts: all\n  become: true\n  gather_facts: false\n  tasks:\n    - command: id -un\n      register: who\n    - copy: {content: \"{{ who.stdout }}\", dest: \"{{ playbook_dir }}/who\"}\n",
            ),
            (
                "nobody.yml",
                "- hosts: all\n  become: true\n  become_user: nobody\n  gather_facts: false\n  tasks:\n    - command: id -un\n      register: who\n    - debug: {msg: \"ran as {{ who.stdout }}\"}\n",
            ),
        ],
    );
    let chown = Command::new("chown")
        .args(["-R", USER])
        .arg(&work)
        .status()
        .unwrap();
    assert!(chown.success());

    // No rule: sudo would ask for a password, and dr says so rather than wait.
    let (code, out) = run_as_user(&dr, &work, "root.yml");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`become` on the local connection needs a password, but dr runs `sudo -n`"),
        "{out}"
    );
    assert!(!work.join("who").exists());

    let _rule = Rule::allow(&agent);
    let (code, out) = run_as_user(&dr, &work, "root.yml");
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(work.join("who")).unwrap(), "root");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(work.join("who")).unwrap());
    assert_eq!(owner, 0, "the file was not written as root");

    let (code, out) = run_as_user(&dr, &work, "nobody.yml");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ran as nobody"), "{out}");
}
