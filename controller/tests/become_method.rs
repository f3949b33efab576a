//! `become_method: su` and `become_flags` against the oracle (ansible-playbook 2.19, on the
//! local connection as root): `su` to root runs, `su` to a user whose login shell refuses
//! (`nobody`) fails as Ansible's does, sudo's default flags (`-H -S -n`) change nothing, and
//! the host's `ansible_become_method` wins over the keyword. Flags that would change what
//! the task sees are refused where written.
//!
//! Needs root (the agent switches users) and ansible-core: `tests/run` has both.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  become_method: su
  tasks:
    - command: id -un
      become: true
      register: su_root
    - command: id -un
      become: true
      become_user: nobody
      register: su_nobody
      ignore_errors: true
    - block:
        - command: id -un
          become: true
          become_user: nobody
          register: sudo_nobody
      become_method: sudo
      become_flags: -H -S -n
    - command: id -un
      become: true
      become_user: nobody
      vars:
        ansible_become_method: sudo
      register: var_wins
    - copy:
        dest: \"{{ playbook_dir }}/out\"
        content: |
          {{ su_root.stdout }}
          {{ su_nobody is failed }}
          {{ sudo_nobody.stdout }}
          {{ var_wins.stdout }}
";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    dir
}

#[test]
fn su_and_sudo_s_own_flags_run_as_in_ansible() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the tasks switch to `nobody`"
    );
    let ansible = fixture();
    util::ansible_playbook_with(ansible.path(), &["-i", "inv.yml", "p.yml"], &[]);
    let expected = std::fs::read_to_string(ansible.path().join("out")).unwrap();
    assert_eq!(expected, "root\nTrue\nnobody\nnobody\n", "ansible-playbook");

    let dr = fixture();
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("`become_method: su` cannot run a command as `nobody`: its login shell is");
    assert_eq!(
        std::fs::read_to_string(dr.path().join("out")).unwrap(),
        expected
    );
}

#[test]
fn flags_and_methods_dr_does_not_run_are_refused_where_written() {
    for (body, at, what) in [
        (
            "  become_flags: -i\n  tasks:\n    - command: id\n",
            "p.yml:3:17",
            "`become_flags: -i` is not supported by dr",
        ),
        (
            "  tasks:\n    - command: id\n      become_method: doas\n",
            "p.yml:5:22",
            "`become_method: doas` is not supported by dr",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = format!("- hosts: all\n  gather_facts: false\n{body}");
        write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
        Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
            .run()
            .code(1)
            .stderr_has(at)
            .stderr_has(what);
    }
}

#[test]
fn a_host_s_become_flags_variable_is_checked_when_the_task_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inv = format!("{INV}      ansible_become_flags: -E\n");
    let p =
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: id\n      become: true\n";
    write_tree(dir.path(), &[("inv.yml", &inv), ("p.yml", p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("`ansible_become_flags`: `become_flags: -E` is not supported by dr");
}
