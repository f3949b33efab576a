//! A file that `lineinfile`, `copy`, `template`, `replace` or `blockinfile` replaces keeps
//! its extended attributes — here a POSIX ACL — as Ansible's atomic move keeps them
//! (`shutil.copystat`), against the oracle (ansible-playbook 2.19). dr's new file had none:
//! the ACL was silently dropped.
//!
//! Needs ansible-core and setfacl/getfacl (the `acl` package): `tests/run` installs both.

mod util;

#[test]
fn a_replaced_file_keeps_its_acl_as_in_ansible() {
    let dr = util::same_files_as_ansible("acls", "site.yml", 0);
    let acls = &util::outputs(dr.path())["acls"];
    assert_eq!(acls.matches("user:nobody:rwx").count(), 5, "{acls}");
}
