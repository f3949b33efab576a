//! A skipped task's `false_condition` against the oracle (ansible-playbook 2.19): the
//! `when:` item that was false as YAML gave it, so `when: false` registers the boolean
//! `false` (test_core asserts `skipped_task.false_condition == False`) and `when: "false"`
//! the string, also for an item inherited from a block.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn false_condition_is_the_when_item_as_written() {
    let dr = util::same_files_as_ansible("skipped_conditions", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    assert!(log.contains(r#""false_condition": false"#), "{log}");
    assert!(log.contains(r#""false_condition": "false""#), "{log}");
}
