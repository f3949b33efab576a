//! Which values are templates, as Ansible's trust decides, against the oracle
//! (ansible-playbook 2.19): an `include_vars` result registered holds the file's values,
//! whose templates render when read through it (dr gave the template text); a `set_fact`
//! result holds what it made (a template's result stays text); a directory an earlier task
//! makes is read by `include_vars: dir=` when the task runs (dr failed: "directory does not
//! exist"); and Ansible's own question, `ansible._protomatter.tagged_with('TrustedAsTemplate')`,
//! gets Ansible's answers (dr refused it for any string).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn registered_results_are_trusted_as_in_ansible() {
    let dr = util::same_files_as_ansible("registered_trust", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "made={{ z }} registered={{ z }}\n\
         plain=bar y=zed registered=zed\n\
         from_dir=zed registered=zed\n\
         trusted: True True True True True\n\
         untrusted: False False False False False False\n"
    );
}
