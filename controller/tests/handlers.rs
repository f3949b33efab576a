//! Handlers against the oracle (ansible-playbook 2.19): which handler a notification
//! reaches when an `include_role` brings handlers of the same name.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn an_included_roles_handlers_answer_once_the_include_ran_and_before_the_plays() {
    let dr = util::same_files_as_ansible("included_handlers", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["before"], "play's handler\n");
    assert_eq!(out["role"], "role's handler\n");
    assert_eq!(out["included"], "from the handler's include\n");
    assert_eq!(out.len(), 3, "{out:?}");
}
