//! Backslashes and `key=value` arguments against the oracle (ansible-playbook 2.19): a
//! string constant in a `{{ }}` expression keeps its backslashes (`'\1'` reaches
//! `regex_replace`), statements, conditionals and template files read escape sequences,
//! and `key=value` words split, unescape and unquote as Ansible's `parse_kv`.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn backslashes_and_key_value_arguments_read_as_in_ansible() {
    let dr = util::same_files_as_ansible("backslashes", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["expressions"], "pg-01 2 a\\tb 11 3\n");
    assert_eq!(out["kv"], "x y c:\\temp \"quoted\" tab[\t]");
}
