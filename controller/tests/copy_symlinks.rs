//! `copy` of a controller directory holding symlinks, against the oracle (ansible-playbook
//! 2.19, local connection): with `local_follow: false` every symlink is recreated as a
//! link; with the default, links to files and directories are followed and a link that
//! points nowhere or back into the copy stays a link. The trees left are the same (kind,
//! link target, mode, content), `dr plan` changes nothing, and a second apply changes
//! nothing. The directory is read when the task runs, as Ansible's action reads it: a file
//! an earlier task wrote into it on the controller is copied too.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: \"late\\n\", dest: \"{{ playbook_dir }}/files/subdir/sub2/late.txt\"}
      delegate_to: localhost
    - copy: {src: subdir, dest: \"{{ playbook_dir }}/{{ out }}/own\", local_follow: false}
    - copy: {src: subdir/, dest: \"{{ playbook_dir }}/{{ out }}/followed/\", directory_mode: \"0700\"}
";

/// The source tree: files, links to a file and a directory inside the copy and outside
/// it, a link to itself, one to nothing, and one back to a parent.
fn source(dir: &Path, outside: &Path) {
    write_tree(
        dir,
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("files/subdir/bar.txt", "bar\n"),
            ("files/subdir/sub2/sub3/baz.txt", "baz\n"),
        ],
    );
    write_tree(outside, &[("file", "outside\n"), ("dir/x", "x\n")]);
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, dir.join("files/subdir").join(at)).unwrap();
    };
    std::fs::create_dir(dir.join("files/subdir/sub1")).unwrap();
    link("../bar.txt", "sub1/bar.txt");
    link("invalid", "sub1/invalid");
    link("../invalid", "sub1/invalid2");
    link("../sub2/sub3", "sub1/sub3");
    link("..", "sub2/up");
    link(&outside.join("file").display().to_string(), "sub1/abs-file");
    link(&outside.join("dir").display().to_string(), "sub1/abs-dir");
}

#[test]
fn symlinks_of_a_copied_directory_are_kept_or_followed_as_ansible_does() {
    let outside = tempfile::tempdir().unwrap();
    let ansible = tempfile::tempdir().unwrap();
    source(ansible.path(), outside.path());
    util::ansible_playbook(ansible.path(), &["-i", "inv.yml", "p.yml", "-e", "out=out"]);
    let expected = util::tree(&ansible.path().join("out"));
    assert!(
        expected.contains(&"own/subdir/sub1/sub3 -> ../sub2/sub3".to_owned())
            && expected.contains(&"followed/sub2/up -> ..".to_owned())
            && expected.contains(&"own/subdir/sub2/late.txt 644 \"late\\n\"".to_owned()),
        "{expected:#?}"
    );

    let dr = tempfile::tempdir().unwrap();
    source(dr.path(), outside.path());
    Dr::new(
        dr.path(),
        &["plan", "-i", "inv.yml", "p.yml", "-e", "out=out"],
    )
    .run()
    .code(2);
    assert!(!dr.path().join("out").exists(), "plan made the tree");
    Dr::new(
        dr.path(),
        &["apply", "-i", "inv.yml", "p.yml", "-e", "out=out"],
    )
    .run()
    .code(0);
    assert_eq!(util::tree(&dr.path().join("out")), expected);
    Dr::new(
        dr.path(),
        &["apply", "-i", "inv.yml", "p.yml", "-e", "out=out"],
    )
    .run()
    .code(0)
    .stdout_has("Applied: 0 change(s).");
}
