//! Undefined values that say why, against the oracle (ansible-playbook 2.19): the `env`
//! lookup with an undefined `default` (`undef()` gives its own reason, `undef('hint')` and
//! an undefined variable keep theirs), Ansible's internal `ansible._protomatter.debug`
//! action (expressions evaluated as written, each undefined one a numbered placeholder and
//! a warning), and `vault(..., wrap_object=True)` (the secret, tagged `VaultedValue`).

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - ansible._protomatter.debug:
        expression:
          - lookup('env', 'DR_TEST_UNSET') == ''
          - lookup('env', 'DR_TEST_UNSET', default='nobody')
          - lookup('env', 'DR_TEST_UNSET', default=undef())
          - lookup('env', 'DR_TEST_UNSET', default=undef('custom'))
          - lookup('env', 'DR_TEST_UNSET', default=bogus_var)
      register: result
    - debug:
        msg: "{{ lookup('env', 'DR_TEST_UNSET', default=undef()) }}"
      register: failing
      ignore_errors: true
    - copy:
        dest: "{{ playbook_dir }}/out.json"
        content: "{{ {'results': result.expression_result, 'warnings': result.warnings, 'failing': failing.msg is search(\"Error while resolving value for 'msg': The environment variable 'DR_TEST_UNSET' is not set.\"), 'wrapped': 'data' | vault('pw', wrap_object=True), 'tagged': 'data' | vault('pw', wrap_object=True) is ansible._protomatter.tagged_with('VaultedValue'), 'plain_tagged': 'data' | vault('pw') is ansible._protomatter.tagged_with('VaultedValue')} | to_nice_json }}"
"#;

fn run_both() -> (String, String) {
    let ansible = tempfile::tempdir().unwrap();
    write_tree(ansible.path(), &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    util::ansible_playbook_with(ansible.path(), &["-i", "inv.yml", "p.yml"], &[]);
    let dr = tempfile::tempdir().unwrap();
    write_tree(dr.path(), &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let read = |d: &tempfile::TempDir| std::fs::read_to_string(d.path().join("out.json")).unwrap();
    (read(&ansible), read(&dr))
}

#[test]
fn undefined_values_say_why_as_in_ansible() {
    let (ansible, dr) = run_both();
    for expected in [
        "<< error 1 - The environment variable 'DR_TEST_UNSET' is not set. >>",
        "<< error 2 - custom >>",
        "<< error 3 - 'bogus_var' is undefined >>",
        "\"wrapped\": \"pw\"",
        "\"tagged\": true",
        "\"failing\": true",
    ] {
        assert!(
            ansible.contains(expected),
            "ansible-playbook: {expected}\n{ansible}"
        );
    }
    assert_eq!(dr, ansible);
}
