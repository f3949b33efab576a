//! `copy` with `content` and `mode: preserve` gives the file the mode of the temporary file
//! Ansible's action writes the content to (0600), and a second run changes nothing; dr
//! refused it (no source file to read a mode from). Against the oracle.

mod util;

#[test]
fn preserve_with_content_is_the_temporary_files_mode() {
    let dr = util::same_files_as_ansible("copy_preserve_content", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["results"],
        "True 0600 False 0600\n"
    );
}
