//! `ansible_facts` is defined before any fact is known (`{}`), as in Ansible: roles guard
//! their `setup` with `when: ansible_facts == {}` (ansible-core's `setup_remote_tmp_dir`).
//! dr left it undefined in a play that gathers no facts. Against the oracle.

mod util;

#[test]
fn ansible_facts_is_empty_until_facts_are_known() {
    let dr = util::same_files_as_ansible("facts_empty", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["before"], "{} True\n");
    assert_eq!(out["after"], "{\"color\": \"blue\"}\n");
}
