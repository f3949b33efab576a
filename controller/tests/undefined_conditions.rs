//! Conditions and templates that read an undefined variable, against the oracle
//! (ansible-playbook 2.19): one that uses it (`nope == 'x'`, `nope != 'x'`, `not nope`,
//! `'a' in nope`, `nope | upper == ''`, `{{ nope ~ 'x' }}`, `{{ 'a' if nope else 'b' }}`)
//! fails its task, where dr used to skip the task or, for `!=`, run it, and render the
//! rest as if the variable were empty; one that reads it only through `defined` or
//! `default` (after other filters too), or whose branch reading it is never evaluated
//! (`use_tls and cert_path != ''`), decides as before. A key missing from a defined
//! mapping (`known.zz == 1`, `{{ nested.inner.zz ~ 'x' }}`) is the same: used, it fails;
//! through `defined`, `default`, `in` or `.get()`, it does not.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_condition_using_an_undefined_variable_fails_as_in_ansible() {
    let dr = util::same_files_as_ansible("undefined_conditions", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    for line in [
        "0 failed",
        "1 failed",
        "2 skipped",
        "4 ran ran 4",
        "6 ran ran 6",
        "7 failed",
        "8 failed",
        "10 failed",
        "12 failed",
        "13 failed",
        "14 ran False",
        "15 ran u",
        "16 ran xy",
        "17 failed",
        "18 failed",
        "19 ran d",
        "20 failed",
        "21 ran ran 21",
        "22 ran e",
        "23 skipped",
        "24 ran g",
        "25 failed",
        "26 skipped",
        "27 failed",
    ] {
        assert!(log.lines().any(|l| l == line), "no `{line}` in:\n{log}");
    }
}
