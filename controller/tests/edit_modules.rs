//! File-writing modules against the oracle (ansible-playbook 2.19): `replace` and
//! `blockinfile` over many files and parameter sets, writes through symlinks, `template`'s
//! less common arguments; each task run twice; the files written and every run's `changed`
//! (and `msg`) must be Ansible's, byte for byte.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn replace_and_blockinfile_write_what_ansible_writes() {
    let dr = util::same_files_as_ansible("edit_modules", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(out["results"].contains("r01 changed [2 replacements made]"));
    assert!(out["results"].contains("b01 changed [Block inserted]"));
    assert_eq!(out["b08"], "<!-- start x -->\nk: v\n<!-- stop x -->\n");
}

#[test]
fn writes_to_a_symlink_follow_it_or_replace_it_as_ansible_does() {
    let dr = util::same_files_as_ansible("symlink_writes", "site.yml", 0);
    let out = util::outputs(dr.path());
    let report = &out["report"];
    // Without `follow`, a link is replaced by a file even when its target already holds
    // the bytes; with it, the target is written and the link stays.
    assert!(
        report.contains("nofollow changed [True, False]"),
        "{report}"
    );
    assert!(report.contains("nofollow islnk=False"), "{report}");
    assert!(report.contains("follow islnk=True"), "{report}");
    assert!(report.contains("tdir islnk=False isdir=True"), "{report}");
    assert_eq!(out["tdir"], "rendered 2\n");
}

#[test]
fn template_arguments_and_header_lines_write_what_ansible_writes() {
    let dr = util::same_files_as_ansible("template_module", "site.yml", 0);
    let out = util::outputs(dr.path());
    let report = &out["report"];
    assert!(report.contains("preserve [True, False] 0755"), "{report}");
    assert!(report.contains("bad True True"), "{report}");
    // windows-1252 bytes, CRLF from the escaped `'\r\n'`.
    assert!(out["enc-windows-1252"].starts_with("[99, 97, 102, 233, 32, 104, 233, 13, 10"));
    assert_eq!(out["lines"], "line 1\nline 2\n");
}

#[test]
fn cron_jobs_and_variables_are_written_as_ansible_writes_them() {
    let dr = util::same_files_as_ansible("cron", "site.yml", 0);
    let out = util::outputs(dr.path());
    let report = &out["report"];
    assert!(
        report.contains("2 [True, False] ['adopt', 'nightly']"),
        "{report}"
    );
    assert!(report.contains("10 [True, False] ['check']"), "{report}");
    assert!(report.contains("single exists: False"), "{report}");
    assert!(out["dump"].contains("#@weekly root vacuumdb -a\n"));
}

#[test]
fn a_controller_directory_is_copied_as_ansible_copies_it() {
    let dr = util::same_files_as_ansible("copy_tree", "site.yml", 0);
    let report = &util::outputs(dr.path())["report"];
    assert!(
        report.contains("./t2/conf.d/sub/deeper/c.conf f 644"),
        "{report}"
    );
    assert!(report.contains("./t3/sub d 750"), "{report}");
    // A `dest` ending in `/` is a directory, made when missing.
    assert!(report.contains("./newdir/a.conf f 644"), "{report}");
    // The symlink in the source is followed: a file with the target's content.
    assert!(report.contains("./t1/link.conf f 644"), "{report}");
}

#[test]
fn a_host_directory_is_copied_with_remote_src_as_ansible_copies_it() {
    let dr = util::same_files_as_ansible("copy_remote_tree", "site.yml", 0);
    let report = &util::outputs(dr.path())["report"];
    // A missing tree is copied whole (modes kept), then nothing changes; once `dest` is a
    // directory, the reported `dest` gets the `src/` basename (empty): a trailing slash.
    assert!(report.contains("[True, False] ['/t1', '/t1/']"), "{report}");
    assert!(report.contains("./t1/sub/deep d 700"), "{report}");
    assert!(report.contains("./t2/src/a f 600"), "{report}");
    // An existing tree gets what differs and what only the source holds (even `.git`),
    // and keeps what only it holds.
    assert!(report.contains("./t4/extra/x f 644"), "{report}");
    assert!(report.contains("./t4/sub/.git/config f 644"), "{report}");
    // A file with the same bytes keeps its own mode; one of the same size is compared by
    // content.
    assert!(report.contains("./t4/a f 644"), "{report}");
    assert!(report.ends_with("b\nb\nc\n"), "{report}");
    // The task's owner and group, already the tree's: no change.
    assert!(
        report.contains("[False, False] ['/t3/src', '/t3/src']"),
        "{report}"
    );
    // Check mode makes nothing.
    assert!(!report.contains("./t6"), "{report}");
}
