//! Handlers against the oracle (ansible-playbook 2.19): which handler a notification
//! reaches when an `include_role` brings handlers of the same name; the handlers a flush
//! runs; `run_once` handlers.
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

#[test]
fn a_run_once_handler_runs_on_the_first_host_it_was_notified_on() {
    let dr = util::same_files_as_ansible("handler_flushes", "once.yml", 0);
    assert_eq!(util::outputs(dr.path())["b.once"], "from b\n");
    assert_eq!(util::outputs(dr.path()).len(), 1);
}

#[test]
fn a_flush_runs_each_notified_handler_once_in_definition_order() {
    let dr = util::same_files_as_ansible("handler_flushes", "passes.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "h1\nh2\nself\npost\nh1\nh2\nself\n"
    );
}

#[test]
fn flush_handlers_as_a_handler_fails_when_notified() {
    let dr = util::same_files_as_ansible("handler_flushes", "flush_as_handler.yml", 1);
    assert_eq!(util::outputs(dr.path())["log"], "after\n");
}

#[test]
fn the_tasks_of_a_block_in_handlers_are_handlers() {
    let dr = util::same_files_as_ansible("handler_flushes", "block.yml", 0);
    assert_eq!(util::outputs(dr.path())["log"], "second inherited\nplain\n");
}
