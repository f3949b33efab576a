//! Ansible's implicit localhost (a play names `localhost`, the inventory does not have
//! it) has its `host_vars/localhost` beside the inventory and beside the playbook, as
//! any host does, and `ansible_connection: local` and `ansible_python_interpreter` (the
//! controller's Python) as host variables, also in `hostvars['localhost']`; dr gave it
//! none (ansible-core's `filter_core` and `filter_mathstuff` targets read them). Against
//! the oracle, ansible-playbook 2.19.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn the_implicit_localhost_has_its_host_vars() {
    util::assert_fresh_agent();
    let dr = util::same_files_as_ansible_with("implicit_localhost", "site.yml", "inv/hosts.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "inv pb playbook side local True pb\n"
    );
}
