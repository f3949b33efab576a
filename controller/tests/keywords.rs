//! Play and task keywords that the controller implements: run_once, tags, -e precedence,
//! import_tasks with inherited `when`.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local}\n    h2: {ansible_connection: local}\n    h3: {ansible_connection: local}\n  vars:\n    color: blue\n";

#[test]
fn run_once_runs_on_the_first_host_only() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch once-{{ inventory_hostname }}\n      run_once: true\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert!(dir.path().join("once-h1").exists());
    assert!(!dir.path().join("once-h2").exists() && !dir.path().join("once-h3").exists());
}

#[test]
fn extra_vars_win_and_imports_inherit_when_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "tasks/t.yml",
                "- name: tagged import\n  command: touch imported-{{ inventory_hostname }}-{{ color }}\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  vars:\n    color: green\n  tasks:\n    - import_tasks: tasks/t.yml\n      when: inventory_hostname != 'h2'\n      tags: [restore]\n    - name: untagged\n      command: touch untagged\n",
            ),
        ],
    );
    Dr::new(
        dir.path(),
        &[
            "apply",
            "p.yml",
            "-i",
            "inv.yml",
            "-e",
            "color=red",
            "--tags",
            "restore",
        ],
    )
    .run()
    .code(0);
    assert!(
        dir.path().join("imported-h1-red").exists(),
        "extra vars must beat play vars"
    );
    assert!(
        !dir.path().join("imported-h2-red").exists(),
        "the import's when was not inherited"
    );
    assert!(
        !dir.path().join("untagged").exists(),
        "--tags ran an untagged task"
    );
}

#[test]
fn task_timeout_kills_a_hung_command_and_fails_the_task() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: h1\n  gather_facts: false\n  tasks:\n    - name: hangs\n      shell: sleep 30 & sleep 30\n      timeout: 1\n",
            ),
        ],
    );
    let started = std::time::Instant::now();
    let run = Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"]).run();
    // Ansible's result for a task past its timeout (the module's own is thrown away).
    run.code(1)
        .stdout_has("Task failed: Timed out after 1 second(s).");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the timeout did not stop the task"
    );
}
