//! A project's action plugin that only re-exports one of Ansible's actions runs as that
//! action, its name choosing where `with_first_found` looks; `include_role` takes `role:`
//! for `name:`; a `first_found` term of the wrong type fails with Ansible's words. Against
//! the oracle (ansible-playbook 2.19): dr refused the plugin and the argument.

mod util;

#[test]
fn an_alias_action_plugin_runs_as_its_action_as_in_ansible() {
    let dir = util::same_files_as_ansible("action_alias", "site.yml", 0);
    assert_eq!(
        util::outputs(dir.path())["found"],
        "findme.txt vars\ntemplates\nfiles\nTrue True\ninner ran\n"
    );
}
