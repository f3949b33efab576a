//! `assert` against the oracle (ansible-playbook 2.19), one task per rule of its action:
//! a missing `that`, an empty one (`null`, blanks, an empty item) and one that is not a
//! string (a number, a mapping) fail with Ansible's messages, where dr used to pass or fail
//! them as false assertions; a string whose result is not a boolean fails ("Conditionals
//! must have a boolean result"), where dr used Jinja truthiness; a conditional wrapped in
//! `{{ }}` passes with Ansible's deprecation in the result (`that: "{{ list }}"` once per
//! item of the list); one template naming an expression (`{{ checks[1] }}`) evaluates it;
//! several templates in one (`{{ 'a' }} == {{ 'a' }}`) are untrusted; `{{ }}` inside a
//! string constant of one expression leaves it one expression; a list `fail_msg` stays a
//! list, `quiet` keeps the message, a template's `assertion` reads back rendered, and an
//! expression's backslashes are read as written (`x == '\\z'`). Templates in a lookup's
//! string-constant terms render first, in a conditional and in `debug` (not in the lookup's
//! name: that lookup is not found); a loop item's string that a template made is untrusted
//! as a conditional, a literal one is an expression; a loop's result has `failed` only when
//! an item failed ("One or more items failed").
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn assert_evaluates_that_as_ansible_does() {
    let dr = util::same_files_as_ansible("assert_conditionals", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    for needle in [
        r#"0 {"failed": true, "msg": "missing required arguments: that"}"#,
        r#"1 {"failed": true, "msg": "Task failed: Empty conditional expressions are not allowed."}"#,
        r#"4 {"failed": true, "msg": "Task failed: Conditional expressions must be strings."}"#,
        "Conditionals should not be surrounded by templating delimiters",
        r#"13 {"failed": true, "msg": "Task failed: Encountered untrusted template or expression."}"#,
        r#""msg": ["x", "y"]"#,
    ] {
        assert!(log.contains(needle), "no `{needle}` in:\n{log}");
    }
}
