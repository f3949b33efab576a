//! Role argument specs (`meta/argument_specs.yml`) against the oracle (ansible-playbook
//! 2.19): the validation task Ansible puts first in a role, its entry points
//! (`tasks_from`), `rolespec_validate: false`, and `argument_errors` word for word: types
//! and their conversions, `elements`, `choices`, aliases, sub-options with their own
//! required, unknown and related options; `validate_argument_spec` called directly.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn role_arguments_are_validated_as_ansible_validates_them() {
    let dr = util::same_files_as_ansible("role_arguments", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(
        out["wrong.json"].contains("\"80.5\" cannot be converted to an int"),
        "{out:?}"
    );
    assert!(
        out["sub.json"].contains("app_db.user. Supported parameters include: pool, tls, url."),
        "{out:?}"
    );
    assert_eq!(
        out["repointed"], "off\n",
        "rolespec_validate: false still ran"
    );
    assert_eq!(out["direct"], "The arg spec validation passed False\n");
}
