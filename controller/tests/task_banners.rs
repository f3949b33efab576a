//! An unnamed task's banner names the module as the task wrote it, against the oracle
//! (ansible-playbook 2.19): `ansible.builtin.debug`, not `debug`; `gather_facts`, which runs
//! the facts module, not `setup`.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, write_tree};

#[test]
fn an_unnamed_tasks_banner_is_the_module_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      \
                     ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";
    let play = "- hosts: h1\n  gather_facts: false\n  tasks:\n    \
                - ansible.builtin.debug: {msg: x}\n    \
                - gather_facts: {gather_subset: distribution}\n    \
                - debug: {msg: \"{{ ansible_distribution is defined }}\"}\n";
    write_tree(dir.path(), &[("inv.yml", inventory), ("p.yml", play)]);
    let banners = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("TASK ["))
            .map(|l| l.trim_end_matches('*').trim_end().to_owned())
            .collect()
    };
    let ansible = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    let ansible_out = String::from_utf8_lossy(&ansible.stdout).into_owned();
    assert!(ansible.status.success(), "{ansible_out}");
    let dr = Dr::new(
        dir.path(),
        &["apply", "--format", "ansible", "-i", "inv.yml", "p.yml"],
    )
    .run();
    dr.code(0).stdout_has("\"msg\": true");
    assert_eq!(banners(&dr.stdout), banners(&ansible_out));
    assert_eq!(
        banners(&dr.stdout),
        [
            "TASK [ansible.builtin.debug]",
            "TASK [gather_facts]",
            "TASK [debug]"
        ]
    );
}
