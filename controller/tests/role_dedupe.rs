//! A role that runs once per play, against the oracle (ansible-playbook 2.19): an
//! instance completes on a host where one of its tasks ran, so one skipped by its `when`
//! leaves the next identical instance to run, and a host whose instance failed does not
//! run it again while another host does; hosts in the pattern's order.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_role_runs_once_per_host_where_one_of_its_tasks_ran() {
    let dr = util::same_files_as_ansible("role_dedupe", "site.yml", 0);
    let out = util::outputs(dr.path());
    // The `when`-skipped first instance left the second one to run; the third did not.
    assert_eq!(out["log-h1"], "a -\na -\ndep_user\na other\nfailer\n");
    assert_eq!(out["log-h2"], out["log-h1"]);
    assert_eq!(out["run_once"], "h2\n", "`hosts: h2,h1` starts with h2");
}
