//! `copy` of a host directory holding symlinks (`remote_src: true`), against the oracle
//! (ansible-playbook 2.19, local connection). Ansible's module copies a missing target
//! with `shutil.copytree` (links kept unless `local_follow: true`) and updates an existing
//! one entry by entry (`filecmp.dircmp`): with `local_follow: true` a left-only link is
//! followed, with `false` recreated, without it skipped (and still reported as a change).
//! The trees left are the same (kind, link target, mode, content), `dr plan` changes
//! nothing, and a second apply reports as many changes as Ansible's second run.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  vars:
    s: \"{{ playbook_dir }}/src\"
    d: \"{{ playbook_dir }}/dangling\"
    o: \"{{ playbook_dir }}/{{ out }}\"
  tasks:
    - file: {path: \"{{ o }}/{{ item }}\", state: directory}
      loop: [into_true, into_false, upd_true, upd_false, upd_none, upd_dangling]
    - copy: {content: \"old\\n\", dest: \"{{ o }}/upd_true/link_a\"}
    - copy: {content: \"old a\\n\", dest: \"{{ o }}/upd_true/a.txt\"}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/kept\", remote_src: true}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/followed\", remote_src: true, local_follow: true}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/own\", remote_src: true, local_follow: false}
    - copy: {src: \"{{ s }}\", dest: \"{{ o }}/into_true\", remote_src: true, local_follow: true}
    - copy: {src: \"{{ s }}\", dest: \"{{ o }}/into_false\", remote_src: true, local_follow: false}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/upd_true/\", remote_src: true, local_follow: true}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/upd_false\", remote_src: true, local_follow: false}
    - copy: {src: \"{{ s }}/\", dest: \"{{ o }}/upd_none\", remote_src: true}
    - copy: {src: \"{{ d }}/\", dest: \"{{ o }}/dangling_kept\", remote_src: true}
    - copy: {src: \"{{ d }}/\", dest: \"{{ o }}/upd_dangling\", remote_src: true, local_follow: false}
";

/// Two source trees: one with files and links to a file and a directory, inside the tree
/// and outside it; one with a link that points nowhere.
fn source(dir: &Path, outside: &Path) {
    use std::os::unix::fs::PermissionsExt;
    write_tree(
        dir,
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("src/a.txt", "a\n"),
            ("src/sub/b.txt", "b\n"),
            ("dangling/f", "f\n"),
        ],
    );
    write_tree(outside, &[("file", "outside\n"), ("dir/x", "x\n")]);
    std::fs::create_dir(dir.join("out")).unwrap();
    let mode = |p: &str, m: u32| {
        std::fs::set_permissions(dir.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode("src/a.txt", 0o600);
    mode("src/sub/b.txt", 0o640);
    mode("src/sub", 0o750);
    let link = |target: &str, at: &str| std::os::unix::fs::symlink(target, dir.join(at)).unwrap();
    link("a.txt", "src/link_a");
    link("sub", "src/link_sub");
    link("../a.txt", "src/sub/up_a");
    link(&outside.join("file").display().to_string(), "src/abs_file");
    link(&outside.join("dir").display().to_string(), "src/abs_dir");
    link("nowhere", "dangling/nothing");
}

/// The `changed=N` of ansible-playbook's recap.
fn ansible_changes(dir: &Path) -> u64 {
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml", "-e", "out=out"])
        .current_dir(dir)
        .output()
        .expect("ansible-playbook runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ansible-playbook failed:\n{stdout}");
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("changed=")?.parse().ok())
        .unwrap_or_else(|| panic!("no recap in:\n{stdout}"))
}

#[test]
fn symlinks_of_a_host_directory_are_copied_as_ansible_copies_them() {
    let outside = tempfile::tempdir().unwrap();
    let ansible = tempfile::tempdir().unwrap();
    source(ansible.path(), outside.path());
    ansible_changes(ansible.path());
    let expected = util::tree(&ansible.path().join("out"));
    let again = ansible_changes(ansible.path());
    assert!(
        expected.contains(&"kept/link_sub -> sub".to_owned())
            && expected.contains(&"followed/link_sub/up_a 600 \"a\\n\"".to_owned())
            && !expected.iter().any(|l| l.starts_with("upd_none/link_a")),
        "{expected:#?}"
    );

    let dr = tempfile::tempdir().unwrap();
    source(dr.path(), outside.path());
    let args = ["apply", "-i", "inv.yml", "p.yml", "-e", "out=out"];
    Dr::new(
        dr.path(),
        &["plan", "-i", "inv.yml", "p.yml", "-e", "out=out"],
    )
    .run()
    .code(2);
    assert_eq!(
        util::tree(&dr.path().join("out")),
        Vec::<String>::new(),
        "plan wrote"
    );
    Dr::new(dr.path(), &args).run().code(0);
    assert_eq!(util::tree(&dr.path().join("out")), expected);
    Dr::new(dr.path(), &args)
        .run()
        .code(0)
        .stdout_has(&format!("Applied: {again} change(s)."));
    assert_eq!(util::tree(&dr.path().join("out")), expected);
}
