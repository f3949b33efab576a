//! Facts that roles read, gathered as Ansible gathers them, against the oracle
//! (ansible-playbook 2.19 on the local connection): `ansible_fips`, `ansible_service_mgr`,
//! `ansible_pkg_mgr`, `ansible_virtualization_*`, `ansible_date_time` (dr lacked them; a
//! template reading `ansible_fips` or `ansible_virtualization_type` failed).

mod util;

#[test]
fn facts_roles_read_are_ansibles() {
    let dir = util::same_files_as_ansible("facts", "site.yml", 0);
    let facts = &util::outputs(dir.path())["facts"];
    assert!(facts.contains("pkg_mgr apt\n"), "{facts}");
    assert!(facts.contains("fips False False\n"), "{facts}");
    assert!(facts.contains("\nvirtualization "), "{facts}");
    assert!(
        facts.contains("\ndate_time date,day,epoch,epoch_int,hour,iso8601,"),
        "{facts}"
    );
}
