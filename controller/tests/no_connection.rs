//! A play made only of tasks Ansible runs on the controller (`debug`, `assert`,
//! `set_fact`, `fail`, `meta`, ...) needs no connection to its host, as in Ansible: it
//! passes on a host nothing listens on. A play with one task that runs on the host still
//! connects, and fails there.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    far: {ansible_host: 127.0.0.1, ansible_port: 1}\n";

#[test]
fn controller_side_tasks_run_without_reaching_the_host() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact: {x: 1}\n    - block:\n        - assert: {that: x == 1}\n      always:\n        - debug: {msg: 'x is {{ x }}'}\n",
            ),
            (
                "q.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: before}\n    - command: 'true'\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("x is 1");
    Dr::new(dir.path(), &["apply", "q.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("unreachable");
}

#[test]
fn a_play_whose_tasks_the_tags_leave_out_connects_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: one}\n      tags: [one]\n    - command: 'true'\n      tags: [two]\n      notify: h\n  handlers:\n    - name: h\n      command: 'true'\n",
            ),
        ],
    );
    // As ansible-playbook: `--tags one` runs the debug alone, on the controller.
    Dr::new(
        dir.path(),
        &["apply", "p.yml", "-i", "inv.yml", "--tags", "one"],
    )
    .run()
    .code(0)
    .stdout_lacks("unreachable");
    Dr::new(
        dir.path(),
        &["apply", "p.yml", "-i", "inv.yml", "--skip-tags", "two"],
    )
    .run()
    .code(0);
    Dr::new(
        dir.path(),
        &["apply", "p.yml", "-i", "inv.yml", "--tags", "two"],
    )
    .run()
    .code(1)
    .stdout_has("unreachable");
}
