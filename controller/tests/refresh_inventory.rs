//! `meta: refresh_inventory` against the oracle (ansible-playbook 2.19): the inventory read
//! again, the hosts `add_host` made kept.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn refresh_inventory_reads_the_sources_again_and_keeps_added_hosts() {
    let dr = util::same_files_as_ansible("refresh_inventory", "site.yml", 0);
    let out = util::outputs(dr.path());
    let hosts: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(hosts, ["added", "b", "c"]);
    assert_eq!(out["b"], "added b c\n");
}
