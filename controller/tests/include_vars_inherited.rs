//! An include inside an import or a block reads the variables the import or block gives
//! it, for its own `when` as for its tasks, against the oracle (ansible-playbook 2.19). dr
//! evaluated such a `when` without them: `not flag | bool` was true for an undefined flag
//! and included the file where Ansible skips it.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn an_include_reads_the_vars_of_the_import_or_block_around_it() {
    let dr = util::same_files_as_ansible("include_vars_inherited", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "leaf no\nleaf yes\nleaf no\n"
    );
}
