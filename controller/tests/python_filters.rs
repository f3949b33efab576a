//! Python filter and test plugins (`filter_plugins/`, `test_plugins/` beside the playbook
//! and in a role) run on the controller with the installed ansible-core, against the
//! oracle: ansible-playbook and dr must write the same log (`fixtures/python_filters`).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::Dr;

#[test]
fn python_filters_and_tests_give_what_ansible_gives() {
    let out = util::same_files_as_ansible_bridged("python_filters");
    assert_eq!(
        out["log"], "<role> 42\nababab True False [2] [2, 4]\nSEVEN!\nA!\nB!\nd\nTrue True\n",
        "a role's filter, arguments, tests, select/map by name, a registered value, loop items, an undefined value, a failing filter"
    );
}

#[test]
fn a_filter_no_plugin_directory_has_is_still_refused_before_the_run() {
    let dir = util::fixture("python_filters");
    std::fs::write(
        dir.path().join("unknown.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ 'x' | doubel }}\"\n",
    )
    .unwrap();
    Dr::new(
        dir.path(),
        &["apply", "unknown.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &util::path_with_ansible())
    .run()
    .code(1)
    .stderr_has("filter `doubel` is not supported by dr");
}
