//! A vault-encrypted `copy`/`template` source, against the oracle (ansible-playbook 2.19):
//! shipped decrypted (a TLS key kept with `ansible-vault encrypt` lands as the key, not as
//! its ciphertext), as-is with `decrypt: false`; without the vault password the task fails
//! with Ansible's message naming the file; the plaintext never reaches the output.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {src: key.pem, dest: \"{{ playbook_dir }}/out/key.pem\", mode: \"0600\"}
    - copy: {src: key.pem, dest: \"{{ playbook_dir }}/out/raw.pem\", decrypt: false}
    - copy: {src: tree/, dest: \"{{ playbook_dir }}/out/tree/\"}
    - template: {src: app.conf.j2, dest: \"{{ playbook_dir }}/out/app.conf\"}
";

const KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQ-not-a-real-key-Zm9vYmFy\n-----END PRIVATE KEY-----\n";

/// A project whose sources are encrypted with `ansible-vault` (password `pw`).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("pw", "pw\n"),
            ("files/key.pem", KEY),
            ("files/tree/inner.txt", "inner secret text\n"),
            ("templates/app.conf.j2", "port = {{ 40 + 2 }}\n"),
            ("out/.keep", ""),
        ],
    );
    for file in [
        "files/key.pem",
        "files/tree/inner.txt",
        "templates/app.conf.j2",
    ] {
        util::ansible_vault(
            dir.path(),
            &["encrypt", "--vault-password-file", "pw", file],
        );
    }
    dir
}

fn out(dir: &Path) -> Vec<String> {
    ["key.pem", "tree/inner.txt", "app.conf"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join("out").join(f)).unwrap_or_default())
        .collect()
}

#[test]
fn a_vaulted_source_is_shipped_decrypted_as_in_ansible() {
    let ansible = project();
    util::ansible_playbook_with(
        ansible.path(),
        &["-i", "inv.yml", "p.yml", "--vault-password-file", "pw"],
        &[],
    );
    assert_eq!(
        out(ansible.path()),
        [KEY, "inner secret text\n", "port = 42\n"],
        "ansible-playbook"
    );
    let raw = std::fs::read_to_string(ansible.path().join("out/raw.pem")).unwrap();
    assert!(
        raw.starts_with("$ANSIBLE_VAULT;"),
        "ansible-playbook: {raw}"
    );

    let dr = project();
    let run = Dr::new(
        dr.path(),
        &[
            "apply",
            "p.yml",
            "-i",
            "inv.yml",
            "--vault-password-file",
            "pw",
            "--diff",
        ],
    )
    .run();
    run.code(0);
    assert!(
        !run.stdout.contains("MIIEvQ"),
        "the key was shown:\n{}",
        run.stdout
    );
    assert_eq!(out(dr.path()), out(ansible.path()));
    assert_eq!(
        std::fs::read_to_string(dr.path().join("out/raw.pem")).unwrap(),
        std::fs::read_to_string(dr.path().join("files/key.pem")).unwrap(),
        "`decrypt: false` ships the file as it is"
    );
    Dr::new(
        dr.path(),
        &[
            "apply",
            "p.yml",
            "-i",
            "inv.yml",
            "--vault-password-file",
            "pw",
        ],
    )
    .run()
    .code(0)
    .stdout_has("Applied: 0 change(s).");
}

#[test]
fn without_the_password_the_task_fails_naming_the_file() {
    let dir = project();
    let run = Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"]).run();
    run.code(1);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains(&format!(
            "A vault password or secret must be specified to decrypt {}",
            dir.path().join("files/key.pem").display()
        )),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(!dir.path().join("out/key.pem").exists(), "it ran");
}
