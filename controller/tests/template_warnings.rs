//! Warnings given by tests while a task runs, against the oracle (ansible-playbook 2.19):
//! `started`/`finished` on a result that is not async's warn, and the warning is in the
//! task's registered result, once; a loop's result gathers its items' warnings.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_tests_warning_is_in_the_tasks_result() {
    let dr = util::same_files_as_ansible("template_warnings", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    assert!(
        log.starts_with(r#"["The 'finished' test expects an async task, but a non-async task was tested", "The 'started'"#),
        "{log}"
    );
}
