//! A task past its `timeout:` against the oracle (ansible-playbook 2.19): its result is
//! Ansible's (`Task failed: Timed out after N second(s).`, a `timedout` entry with the
//! period, no module output), so the `timedout` test holds; it is not retried.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_task_past_its_timeout_fails_as_in_ansible() {
    let dr = util::same_files_as_ansible("task_timeout", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    assert!(log.ends_with("True True\n"), "{log}");
}
