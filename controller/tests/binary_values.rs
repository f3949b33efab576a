//! YAML `!!binary` values against the oracle (ansible-playbook 2.19), which reads them as
//! Python bytes, UTF-8 or not: role argument specs name their type `bytes` with Ansible's
//! message for every type, templates see bytes (`type_debug`, `length`, items, `str()` as
//! `repr()`, hashes of the bytes), `set_fact` keeps them, modules get their text,
//! printed results show what is not UTF-8 as `?`, and a loop item is labelled `b'...'`.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, ansible, write_tree};

#[test]
fn binary_values_are_bytes_as_in_ansible() {
    let dr = util::same_files_as_ansible("binary_values", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(
        out["gif.json"].contains(
            "argument 'a_bytes' is of type bytes and we were unable to convert to bytes: \
             <class 'ansible.module_utils._internal._datatag._AnsibleTaggedBytes'> cannot be \
             converted to a Byte value"
        ),
        "{out:?}"
    );
    assert_eq!(out["word.txt"], "hello");
}

#[test]
fn printed_bytes_show_what_is_not_utf8_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "p.yml",
                "- hosts: localhost\n  gather_facts: false\n  vars:\n    mixed: !!binary aGVs//9sbw==\n  \
                 tasks:\n    - debug: var=mixed\n    - debug: msg=\"{{ mixed }}\"\n    \
                 - debug: msg=x\n      loop: [\"{{ mixed }}\"]\n",
            ),
            (
                "inv.yml",
                "all:\n  hosts:\n    localhost: {ansible_connection: local}\n",
            ),
        ],
    );
    let ansible = ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    // Ansible writes its warnings to stderr.
    let ansible = format!(
        "{}{}",
        String::from_utf8_lossy(&ansible.stdout),
        String::from_utf8_lossy(&ansible.stderr)
    );
    let dr = Dr::new(
        dir.path(),
        &[
            "apply", "p.yml", "-i", "inv.yml", "--yes", "--format", "ansible",
        ],
    )
    .run();
    dr.code(0);
    for line in [
        "    \"mixed\": \"hel?lo\"",
        "    \"msg\": \"hel?lo\"",
        r"ok: [localhost] => (item=b'hel\xff\xfflo') => {",
    ] {
        assert!(
            ansible.contains(line),
            "the oracle lacks {line:?}:\n{ansible}"
        );
        dr.stdout_has(line);
    }
    let warning = "[WARNING]: Non UTF-8 encoded data replaced with \"?\" while displaying text to stdout/stderr.";
    assert!(ansible.contains(warning), "{ansible}");
    assert!(
        dr.stdout.contains(warning) || dr.stderr.contains(warning),
        "dr did not warn:\n{}\n{}",
        dr.stdout,
        dr.stderr
    );
}
