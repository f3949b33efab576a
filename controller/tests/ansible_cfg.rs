//! A repository as Ansible users have it: `ansible.cfg` naming an INI inventory, group vars
//! in an ansible-vault file and an inline `!vault` value, a password file (or script).
//! `dr apply` runs it with the command line `ansible-playbook` takes, and both leave the
//! same file; no secret is printed.
//!
//! Needs ansible-core (for ansible-vault and the comparison): `tests/run` installs it and
//! sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const SECRET: &str = "Sup3rS3cret-vaulted";
const INLINE: &str = "inl1ne-t0ken";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(
        d,
        &[
            (
                "ansible.cfg",
                "[defaults]\ninventory = hosts.ini\nretry_files_enabled = False ; display only\n",
            ),
            (
                "hosts.ini",
                "[app]\nh1 ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n\n[app:vars]\napp_port=8080\n",
            ),
            ("pw", "s3cret-pw\n"),
            ("pw.sh", "#!/bin/sh\necho s3cret-pw\n"),
            (
                "group_vars/all/vault.yml",
                &format!("db_password: {SECRET}\n"),
            ),
            (
                "site.yml",
                "- hosts: app\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: \"{{ playbook_dir }}/out.conf\"\n        content: \"port={{ app_port }} pw={{ db_password }} tok={{ api_token }}\\n\"\n    - debug:\n        msg: \"{{ db_password }} {{ api_token | upper }}\"\n",
            ),
        ],
    );
    let mut perms = std::fs::metadata(d.join("pw.sh")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(d.join("pw.sh"), perms).unwrap();
    util::ansible_vault(
        d,
        &[
            "encrypt",
            "--vault-password-file",
            "pw",
            "group_vars/all/vault.yml",
        ],
    );
    let inline = util::ansible_vault(
        d,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            INLINE,
            "--name",
            "api_token",
        ],
    );
    std::fs::write(d.join("group_vars/all/main.yml"), inline).unwrap();
    dir
}

fn out(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("out.conf")).unwrap_or_default()
}

#[test]
fn a_repository_with_only_ansible_cfg_runs_as_ansible_playbook_runs_it() {
    for password in ["pw", "pw.sh"] {
        let ansible = repo();
        util::ansible_playbook(
            ansible.path(),
            &["site.yml", "--vault-password-file", password],
        );
        let dr = repo();
        let result = Dr::new(
            dr.path(),
            &["apply", "site.yml", "--vault-password-file", password],
        )
        .run();
        result.code(0).stdout_lacks(SECRET).stdout_lacks(INLINE);
        result.stdout_lacks(&INLINE.to_uppercase());
        assert_eq!(out(dr.path()), out(ansible.path()), "with {password}");
        assert_eq!(
            out(dr.path()),
            format!("port=8080 pw={SECRET} tok={INLINE}\n")
        );
    }
}

#[test]
fn ansible_cfg_settings_that_change_plays_are_refused_with_their_line() {
    let dir = repo();
    std::fs::write(
        dir.path().join("ansible.cfg"),
        "[defaults]\ninventory = hosts.ini\nhash_behaviour = merge\n",
    )
    .unwrap();
    Dr::new(
        dir.path(),
        &["plan", "site.yml", "--vault-password-file", "pw"],
    )
    .run()
    .code(1)
    .stderr_has("ansible.cfg:3:1")
    .stderr_has("hash_behaviour = merge");
}

#[test]
fn dr_toml_wins_over_ansible_cfg() {
    let dir = repo();
    write_tree(
        dir.path(),
        &[
            ("dr.toml", "inventory = \"other.ini\"\n"),
            ("other.ini", "[app]\nh9 ansible_connection=local\n"),
        ],
    );
    Dr::new(dir.path(), &["graph", "site.yml"])
        .run()
        .code(0)
        .stdout_has("h9")
        .stdout_lacks("h1");
}

#[test]
fn collections_path_from_ansible_cfg_finds_collection_roles() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "ansible.cfg",
                "[defaults]\ninventory = hosts.ini\ncollections_path = ./colls\n",
            ),
            ("hosts.ini", "[app]\nh1 ansible_connection=local\n"),
            (
                "colls/ansible_collections/acme/ops/roles/probe/tasks/main.yml",
                "- debug: msg=probe\n",
            ),
            (
                "site.yml",
                "- hosts: app\n  gather_facts: false\n  roles: [acme.ops.probe]\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["graph", "site.yml"]).run().code(0);
}

/// Ansible's `ALLOW_BROKEN_CONDITIONALS`, from the environment or ansible.cfg: a
/// conditional whose result is not a boolean is its truthiness (by default an error).
#[test]
fn allow_broken_conditionals_from_the_environment_or_ansible_cfg() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(
        d,
        &[
            ("hosts.ini", "h1 ansible_connection=local\n"),
            (
                "site.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - assert:\n        that: \"'broken static'\"\n",
            ),
        ],
    );
    let run = || Dr::new(d, &["apply", "site.yml", "-i", "hosts.ini", "--yes"]);
    run()
        .run()
        .code(1)
        .stdout_has("Conditionals must have a boolean result");
    run()
        .env("ANSIBLE_ALLOW_BROKEN_CONDITIONALS", "1")
        .run()
        .code(0);
    std::fs::write(
        d.join("ansible.cfg"),
        "[defaults]\nallow_broken_conditionals = True\n",
    )
    .unwrap();
    run().run().code(0);
}
