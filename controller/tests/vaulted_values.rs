//! Inline `!vault` values as Ansible treats them, against the oracle (ansible-playbook
//! 2.19): a value is data, never a template (a password with `{{ }}` and `{% %}` in it
//! is used as written; dr rendered it and failed on `'ass' is undefined`), and the
//! `vault_encrypted` test is true for the value itself (a play var, a `set_fact` of a
//! `!vault` literal) and false for text made from it (dr refused the test); a plain
//! string holding vault text is a string, opened by `unvault` with its own password (dr
//! took it for an inline vault value and failed it as undecryptable).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::Dr;

#[test]
fn inline_vault_values_are_data_and_vault_encrypted_as_in_ansible() {
    let ansible = util::fixture("vaulted_values");
    util::ansible_playbook(
        ansible.path(),
        &[
            "-i",
            "inventory.yml",
            "site.yml",
            "--vault-password-file",
            "vault-password",
        ],
    );
    let dr = util::fixture("vaulted_values");
    Dr::new(
        dr.path(),
        &[
            "apply",
            "site.yml",
            "-i",
            "inventory.yml",
            "--yes",
            "--vault-password-file",
            "vault-password",
        ],
    )
    .run()
    .code(0)
    .stdout_lacks("p{{ass}}");
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    assert_eq!(
        util::outputs(dr.path())["log"],
        "length 16 text p{{ass}}w{%or%}d\nunvault kept as text\nvault_encrypted True True False False\n"
    );
}
