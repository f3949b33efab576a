//! `remote_user`, `port` and `connection` on a task, block or role entry, against the
//! oracle (ansible-playbook 2.19): a connection variable of the host wins over the keyword,
//! the local connection ignores the user and the port, and a keyword naming the connection
//! the host was reached by changes nothing. One naming another connection connects again
//! for the task, as Ansible does (dr failed the task).

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - name: the local connection ignores the user and the port
      command: touch {{ playbook_dir }}/t1
      remote_user: nobody-here
      port: 2222
    - name: the host's connection variable wins over the keyword
      block:
        - command: touch {{ playbook_dir }}/t2
      remote_user: \"{{ 'someone' }}\"
      connection: ssh
    - name: the connection it was reached by
      command: touch {{ playbook_dir }}/t3
      connection: local
- hosts: all
  gather_facts: false
  roles:
    - role: r
      remote_user: another
      port: \"{{ 2200 + 22 }}\"
";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            (
                "roles/r/tasks/main.yml",
                "- command: touch {{ playbook_dir }}/t4\n",
            ),
        ],
    );
    dir
}

fn made(dir: &std::path::Path) -> Vec<bool> {
    ["t1", "t2", "t3", "t4"]
        .iter()
        .map(|f| dir.join(f).exists())
        .collect()
}

#[test]
fn keywords_that_name_the_same_connection_run_as_in_ansible() {
    let ansible = fixture();
    util::ansible_playbook_with(ansible.path(), &["-i", "inv.yml", "p.yml"], &[]);
    assert_eq!(
        made(ansible.path()),
        [true; 4],
        "ansible-playbook ran them all"
    );

    let dr = fixture();
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(made(dr.path()), made(ansible.path()));
}

#[test]
fn a_keyword_naming_another_connection_connects_again_for_the_task() {
    // The play's keyword (not a variable) made this host local: a task's own keyword wins
    // over it and reaches the host over SSH, at a port nothing listens on: unreachable,
    // which `ignore_errors` does not cover, so the host stops there.
    let fixture = || {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                (
                    "inv.yml",
                    "all:\n  hosts:\n    far: {ansible_host: 127.0.0.1, ansible_port: 1}\n",
                ),
                (
                    "p.yml",
                    "- hosts: all\n  gather_facts: false\n  connection: local\n  tasks:\n    - command: touch over-ssh\n      connection: ssh\n      ignore_errors: true\n    - command: touch after\n",
                ),
            ],
        );
        dir
    };
    let ansible = fixture();
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNREACHABLE!"));
    let dr = fixture();
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("`far` over this task's own connection: unreachable");
    for file in ["over-ssh", "after"] {
        assert!(
            !ansible.path().join(file).exists(),
            "ansible-playbook made {file}"
        );
        assert!(!dr.path().join(file).exists(), "dr made {file}");
    }
}

#[test]
fn a_bad_connection_keyword_is_refused_where_written() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - block:\n        - command: \"true\"\n      connection: winrm\n    - command: \"true\"\n      port: many\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:6:19")
        .stderr_has("`connection: winrm` is not supported by dr");
    write_tree(
        dir.path(),
        &[(
            "p.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      port: many\n",
        )],
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:13")
        .stderr_has("`port` must be a port number");
}
