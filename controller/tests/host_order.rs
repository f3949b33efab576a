//! The order hosts are taken in, against the oracle (ansible-playbook 2.19): a group's
//! hosts group by group, breadth first; a pattern's terms in order; `run_once` on the
//! first host; `groups` in the same order.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn hosts_run_in_the_order_ansible_runs_them() {
    let dr = util::same_files_as_ansible_with("host_order", "site.yml", "inventory.ini", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["all"], "solo\nw1\nb\nd2\nd1\ne1\n");
    assert_eq!(out["pattern"], "b\nd2\nw1\ne1\n");
    assert_eq!(out["first"], "d1 w1,b,d2,d1,e1 solo,w1,b,d2,d1,e1\n");
}
