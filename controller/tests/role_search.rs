//! Where a role is found, against the oracle (ansible-playbook 2.19): `roles/` beside the
//! playbook, the roles path, the depending role's directory, then the playbook's directory;
//! a directory found there is the role whatever it holds (one with no tasks is a role).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

/// Where a role is found (the search order, a role with no tasks), as Ansible finds it.
#[test]
fn roles_are_found_where_ansible_finds_them() {
    let dr = util::same_files_as_ansible("role_search", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["picked"],
        "beside the depending role\n"
    );
    // A name with a slash, under `roles/` (dr looked only beside the playbook).
    assert_eq!(
        util::outputs(dr.path())["nested"],
        "group/disable found under roles/\n"
    );
}

#[test]
fn an_include_role_named_from_role_path_is_found_as_in_ansible() {
    let dr = util::same_files_as_ansible("include_role_path", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "outer outer outer\ninner inner inner\n"
    );
}
