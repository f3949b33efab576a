//! An inline `!vault` value the run cannot open, against the oracle (ansible-playbook
//! 2.19): it fails every task that shows it, also inside a mapping or list (never printed
//! as `undefined`), while `unvault` with its own secret opens it, as Ansible's filter takes
//! the value's vault text.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

/// The playbook, with `vault` (an inline vault of `secret` under password `test`) in it.
fn playbook(vault: &str) -> String {
    let indented: String = vault
        .lines()
        .map(|l| format!("      {}\n", l.trim()))
        .collect();
    format!(
        "\
- hosts: all
  gather_facts: false
  vars:
    sealed: !vault |
{indented}    holder:
      fine: hi mom
      sealed: \"{{{{ sealed }}}}\"
  tasks:
    - debug: {{var: holder}}
      register: shown_map
      ignore_errors: true
    - debug: {{msg: \"{{{{ [1, sealed] | string }}}}\"}}
      register: shown_list
      ignore_errors: true
    - copy:
        dest: \"{{{{ playbook_dir }}}}/out\"
        content: |
          {{{{ sealed | unvault('test') }}}}
          {{{{ shown_map is failed }}}} {{{{ shown_list is failed }}}}
"
    )
}

#[test]
fn an_unopened_vault_fails_where_shown_and_unvault_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "test\n").unwrap();
    let text = util::ansible_vault(
        dir.path(),
        &["encrypt_string", "--vault-password-file", "pw", "secret"],
    );
    let vault = text
        .split_once('|')
        .map(|(_, v)| v.trim().to_owned())
        .unwrap();
    let p = playbook(&vault);

    let ansible = tempfile::tempdir().unwrap();
    write_tree(ansible.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    util::ansible_playbook_with(ansible.path(), &["-i", "inv.yml", "p.yml"], &[]);
    let expected = std::fs::read_to_string(ansible.path().join("out")).unwrap();
    assert_eq!(expected, "secret\nTrue True\n", "ansible-playbook");

    let dr = tempfile::tempdir().unwrap();
    write_tree(dr.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("Attempt to use undecryptable variable `sealed`");
    assert_eq!(
        std::fs::read_to_string(dr.path().join("out")).unwrap(),
        expected
    );
}
