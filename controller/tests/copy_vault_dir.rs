//! `copy` of a controller directory holding ansible-vault files, run without a vault
//! password, against the oracle (ansible-playbook 2.19): the task fails naming the first
//! encrypted file in Ansible's walk order (`os.walk`: a directory's files before those of
//! its subdirectories), not the first in name order.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {src: vault, dest: \"{{ playbook_dir }}/out/\"}
      register: r
      ignore_errors: true
    - copy: {content: \"{{ r.msg }}\", dest: \"{{ playbook_dir }}/msg\"}
";

fn project(dir: &Path) {
    write_tree(
        dir,
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("pw", "secret\n"),
            ("files/vault/a/nested", "nested\n"),
            ("files/vault/readme.txt", "plain\n"),
            ("files/vault/z-top", "top\n"),
        ],
    );
    for file in ["files/vault/a/nested", "files/vault/z-top"] {
        let out = util::ansible("ansible-vault")
            .args(["encrypt", "--vault-password-file", "pw", file])
            .current_dir(dir)
            .output()
            .expect("ansible-vault runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The file the failure names: what follows "decrypt " in the message, relative to `dir`.
fn named(dir: &Path) -> String {
    let msg = std::fs::read_to_string(dir.join("msg")).unwrap();
    let path = msg
        .rsplit("decrypt ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    path.strip_prefix(&format!("{}/", dir.display()))
        .unwrap_or(&path)
        .to_owned()
}

#[test]
fn a_directory_with_vault_files_fails_on_the_file_ansible_meets_first() {
    let ansible = tempfile::tempdir().unwrap();
    project(ansible.path());
    util::ansible_playbook(ansible.path(), &["-i", "inv.yml", "p.yml"]);
    let expected = named(ansible.path());
    assert_eq!(expected, "files/vault/z-top");

    let dr = tempfile::tempdir().unwrap();
    project(dr.path());
    Dr::new(dr.path(), &["apply", "-i", "inv.yml", "p.yml"])
        .run()
        .code(0);
    assert_eq!(named(dr.path()), expected);
}
