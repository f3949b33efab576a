//! `include_vars` as Ansible's action, against the oracle (ansible-playbook 2.19): files
//! without an extension when `extensions` lists `''`, a directory read two ways by two
//! tasks, a file of another extension failing only its task (with `message`), values that
//! are templates, `hash_behaviour: merge`, and an empty file name failing the task.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn include_vars_reads_and_fails_as_ansibles_action() {
    let dr = util::same_files_as_ansible("include_vars_dir", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "1.2 app ['app.yml', 'noext'] True True {key0: 0, key2: {a: 21, c: 23}, key9: 9} Could not find file on the Ansible Controller.\n"
    );
}
