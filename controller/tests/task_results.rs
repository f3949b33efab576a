//! Task results against the oracle (ansible-playbook 2.19): the keys `until`/`retries`,
//! `changed_when` and `failed_when` leave and which of them decides the task's failure; a
//! loop's registered variable item by item; the `action:` mapping's argument forms.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn retries_conditions_and_loops_leave_the_results_ansible_leaves() {
    let dr = util::same_files_as_ansible("task_results", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(out["exhausted.json"].contains("\"attempts\": 2"), "{out:?}");
    assert!(out["retried.json"].contains("\"attempts\": 2"), "{out:?}");
    assert_eq!(out["broken"], "True foo True\n");
    assert_eq!(out["fact_names"], "True True True\n");
    assert!(
        out["no_items.json"].contains("\"skipped_reason\": \"No items in the list\""),
        "{out:?}"
    );
    assert!(
        out["loops"].contains("no attribute 'stdout'\n[False, False, True]"),
        "{out:?}"
    );
}
