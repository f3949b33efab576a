//! Inline `!vault` values inside tasks against the oracle (ansible-playbook 2.19): in a
//! module's arguments (`set_fact`, as ansible-core's test_core writes it), in task and block
//! vars, and as a loop item, each opened with the run's vault password; dr used to pass
//! the ciphertext on as text.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn inline_vault_values_in_tasks_are_opened() {
    let dr = util::same_files_as_ansible("inline_vault_tasks", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["opened"], "foo bar|foo bar|foo bar|");
    assert_eq!(out["looped"], "plain,foo bar");
}
