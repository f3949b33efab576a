//! A task whose own `vars` change the connection variables connects again with them, as
//! Ansible does: sent to a port nothing listens on it is unreachable (and
//! `ignore_unreachable` on that task alone lets the host go on), and a user named on the
//! local connection changes nothing. dr refused `ignore_unreachable` on some tasks of a play
//! and failed such tasks. Against the oracle.

mod util;

#[test]
fn a_task_with_connection_variables_of_its_own_connects_with_them() {
    let dr = util::same_files_as_ansible("task_connection", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["results"],
        "True True False -\nroot\n"
    );
}
