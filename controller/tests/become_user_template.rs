//! A templated `become_user` (a task's or its block's, `"{{ var }}"`) is rendered when the
//! task runs, as Ansible renders it, against the oracle (ansible-playbook 2.19, local
//! connection): the file module and the command run as the rendered user, and `~` in a
//! path is that user's home (Ansible's `sudo -H`).
//!
//! Needs root (to switch users) and ansible-core: `tests/run` has both and sets
//! DR_TEST_ANSIBLE_BIN.

mod util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  vars:
    who: nobody
  tasks:
    - block:
        - copy: {content: \"x\\n\", dest: \"{{ playbook_dir }}/out/by-block\"}
        - command: id -un
          register: block_user
      become: true
      become_user: \"{{ who }}\"
    - copy: {content: \"y\\n\", dest: \"{{ playbook_dir }}/out/by-task\"}
      become: true
      become_user: \"{{ who }}\"
    - copy: {content: \"z\", dest: \"~/dr-home-test\"}
      become: true
      become_user: \"{{ who }}\"
      register: home
      ignore_errors: true
    - copy: {content: \"{{ block_user.stdout }}\", dest: \"{{ playbook_dir }}/out/user\"}
    - copy: {content: \"{{ home.msg }}\", dest: \"{{ playbook_dir }}/out/home\"}
";

fn project(dir: &Path) {
    write_tree(dir, &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    std::fs::create_dir(dir.join("out")).unwrap();
    for d in [dir, &dir.join("out")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
}

/// Who owns each file the play wrote, and what the command printed.
fn outcome(dir: &Path) -> Vec<String> {
    let owner = |f: &str| std::fs::metadata(dir.join("out").join(f)).unwrap().uid();
    vec![
        format!("by-block {}", owner("by-block")),
        format!("by-task {}", owner("by-task")),
        std::fs::read_to_string(dir.join("out/user")).unwrap(),
        std::fs::read_to_string(dir.join("out/home")).unwrap(),
    ]
}

#[test]
fn a_templated_become_user_is_rendered_when_the_task_runs() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ansible = tempfile::tempdir().unwrap();
    project(ansible.path());
    util::ansible_playbook(ansible.path(), &["-i", "inv.yml", "p.yml"]);
    let expected = outcome(ansible.path());
    assert_eq!(expected[2], "nobody");

    let dr = tempfile::tempdir().unwrap();
    project(dr.path());
    Dr::new(dr.path(), &["apply", "-i", "inv.yml", "p.yml"])
        .run()
        .code(0);
    assert_eq!(outcome(dr.path()), expected);
}
