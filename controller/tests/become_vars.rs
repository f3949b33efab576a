//! Who a task runs as, against the oracle (ansible-playbook 2.19 on the local connection,
//! as root): the `become` keywords of the task, its block and its play, overridden by the
//! `ansible_become*` variables wherever they are set (task and block `vars`, the
//! inventory, `set_fact`, `include_vars` of templates) in Ansible's precedence, when the
//! task runs; facts are gathered as the become user. dr ran such tasks as root (variables
//! set below the play, and a play's `become_user` on the local connection, were ignored).
//!
//! Needs root (the agent switches to `nobody`) and ansible-core: `tests/run` has both.

mod util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use util::Dr;

/// The fixture, with `work/` and `out/` writable by `nobody` (a temp dir is root's alone).
fn fixture() -> tempfile::TempDir {
    let dir = util::fixture("become_vars");
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(dir.path(), 0o755).unwrap();
    for sub in ["work", "out"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        open(&dir.path().join(sub), 0o777).unwrap();
    }
    dir
}

/// Each file under `out/` with its owner's uid.
fn owners(dir: &Path) -> Vec<(String, u32)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().uid(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn become_variables_override_the_keywords_as_in_ansible() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the agent switches to `nobody`"
    );
    let ansible = fixture();
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let dr = fixture();
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(0);
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    assert_eq!(owners(dr.path()), owners(ansible.path()));
    let log = util::outputs(dr.path())["log"].clone();
    for line in [
        "task vars nobody",
        "block vars nobody",
        "turned off root",
        "copied nobody",
        "after set_fact nobody",
        "after set_fact off root",
        "below set_fact root",
    ] {
        assert!(log.lines().any(|l| l == line), "no `{line}` in:\n{log}");
    }
    let all = util::outputs(dr.path());
    assert_eq!(all["play"], "play keywords nobody\n");
    assert_eq!(all["host"], "host var root\n");
    assert_eq!(all["include_vars"], "after include_vars nobody\n");
    assert_eq!(all["facts"], "nobody 65534 /nonexistent nobody nobody\n");
}

#[test]
fn a_task_that_cannot_run_as_its_become_user_fails_and_a_plan_says_so() {
    // `apt` cannot switch users in dr: the task fails naming the user and why, in a plan
    // too, rather than run as root.
    let dir = fixture();
    std::fs::write(
        dir.path().join("p.yml"),
        "- hosts: h1\n  gather_facts: false\n  tasks:\n    - apt: {name: curl}\n      vars: {ansible_become: true, ansible_become_user: nobody}\n",
    )
    .unwrap();
    for cmd in ["plan", "apply"] {
        Dr::new(dir.path(), &[cmd, "p.yml", "-i", "inventory.yml"])
            .run()
            .code(1)
            .stdout_has("this task must run as `nobody` (`become`)")
            .stdout_has("switches users for one task only in");
    }
}
