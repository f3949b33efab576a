//! `ignore_errors` written as a template (`ignore_errors: "{{ tolerate }}"`), against the
//! oracle (ansible-playbook 2.19): rendered when the task starts with the variables it
//! has then, on a task, a block and an import; a false one stops the host. dr refused it
//! at parse time ("`ignore_errors` must be true or false, found a string").
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_templated_ignore_errors_decides_as_in_ansible() {
    util::assert_fresh_agent();
    let dr = util::same_files_as_ansible("ignore_errors_template", "site.yml", 1);
    let outputs = util::outputs(dr.path());
    assert_eq!(
        outputs["log"],
        "word True\nfact True\nregistered True\nblock True\nimported True\n"
    );
    assert!(!outputs.contains_key("after"), "{outputs:?}");
}
