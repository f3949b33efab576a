//! A `copy` source written with `~` is found in the controller user's home directory, as
//! Ansible's loader expands it (`~user` too); dr looked for `~/...` beside the play.
//! Against the oracle, with HOME pointed at the fixture.

mod util;

use util::Dr;

#[test]
fn a_source_under_the_home_directory_is_found_there() {
    let ansible = util::fixture("copy_tilde");
    let home = ansible.path().to_str().unwrap().to_owned();
    util::ansible_playbook_with(
        ansible.path(),
        &["-i", "inventory.yml", "site.yml"],
        &[("HOME", &home)],
    );
    let dr = util::fixture("copy_tilde");
    let home = dr.path().to_str().unwrap().to_owned();
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("HOME", &home)
    .run()
    .code(0);
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    assert_eq!(util::outputs(dr.path())["copied"], "from home\n");
}
