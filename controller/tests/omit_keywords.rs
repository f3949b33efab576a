//! Keywords as Ansible reads them, against the oracle (ansible-playbook 2.19): a keyword
//! written as `{{ omit }}` is not set (the level above decides); a templated `serial` is
//! rendered with the play's vars, `{{ x | default(omit) }}` leaving it unset; `until` may be
//! a list of conditions. dr refused all three.

mod util;

#[test]
fn omitted_keywords_and_a_templated_serial_behave_as_in_ansible() {
    let dir = util::same_files_as_ansible("omit_keywords", "site.yml", 0);
    let out = util::outputs(dir.path());
    assert_eq!(out["omitted-h1"], "h1,h2\n");
    assert_eq!(out["templated-h2"], "h2\n");
    assert!(!out.contains_key("never"), "{out:?}");
    assert!(!out["who"].trim().is_empty(), "{out:?}");
}

#[test]
fn until_as_a_list_holds_when_each_condition_does_as_in_ansible() {
    // Ansible's `until` is a list, like `when`; dr took only a string.
    let dir = util::same_files_as_ansible("until_list", "site.yml", 0);
    assert_eq!(util::outputs(dir.path())["attempts"], "3");
}
