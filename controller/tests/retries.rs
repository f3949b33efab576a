//! `until`/`retries`, `changed_when` and `failed_when` against the oracle (ansible-playbook
//! 2.19): the keys their results carry and which of them decides the task's failure.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn retries_and_result_conditions_leave_the_results_ansible_leaves() {
    let dr = util::same_files_as_ansible("retries", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(out["exhausted.json"].contains("\"attempts\": 2"), "{out:?}");
    assert!(out["retried.json"].contains("\"attempts\": 2"), "{out:?}");
    assert_eq!(out["broken"], "True foo True\n");
}
