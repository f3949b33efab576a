//! Python's printf-style `%` on a string (`'%02d' % (idx + 1)`, `'%s-%s' % (a, b)`), against
//! the oracle (ansible-playbook 2.19): minijinja refuses `%` on a string ("tried to use %
//! operator on unsupported types"), and dr failed such templates.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn string_formatting_with_percent_is_pythons() {
    let dr = util::same_files_as_ansible("string_formatting", "site.yml", 0);
    assert_eq!(util::outputs(dr.path())["log"], "WEB05 web-4 n004 50% 1\n");
}
