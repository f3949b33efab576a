//! A user replacing a file it may write but does not own (`become_user: nobody` over root's
//! world-writable file in a world-writable directory), against the oracle
//! (ansible-playbook 2.19, local connection as root): as Ansible's `atomic_move`, the file
//! is replaced, the owner it cannot give is left (the new file is `nobody`'s), and the task
//! succeeds; the same content, owner and results as ansible-playbook. The mode is not
//! compared: dr keeps the replaced file's (0666), where Ansible's result on this machine
//! was 0654, which comes from how its action hands the file to another user, not from the
//! module's rules.
//!
//! Needs root and ansible-core: `tests/run` has both.

mod util;

use std::os::unix::fs::MetadataExt;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - file: {dest: \"{{ playbook_dir }}/{{ out }}\", state: directory, mode: \"0777\"}
    - copy: {dest: \"{{ playbook_dir }}/{{ out }}/file.txt\", content: bar, mode: \"0666\"}
    - copy: {dest: \"{{ playbook_dir }}/{{ out }}/file.txt\", content: baz}
      become: true
      become_user: nobody
      register: r
    - copy:
        dest: \"{{ playbook_dir }}/{{ out }}.json\"
        content: \"{{ {'changed': r.changed, 'checksum': r.checksum, 'owner': r.owner} | to_json }}\"
";

#[test]
fn a_file_another_user_owns_is_replaced_as_ansible_replaces_it() {
    assert!(
        util::pg::is_root(),
        "this test needs root: a task runs as `nobody`"
    );
    let dir = tempfile::tempdir().unwrap();
    // `nobody` must reach the directories on the way.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    util::ansible_playbook(dir.path(), &["-i", "inv.yml", "p.yml", "-e", "out=ansible"]);
    Dr::new(
        dir.path(),
        &["apply", "-i", "inv.yml", "p.yml", "-e", "out=dr"],
    )
    .run()
    .code(0);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read("dr.json"), read("ansible.json"));
    assert!(
        read("ansible.json").contains("\"owner\": \"nobody\""),
        "{}",
        read("ansible.json")
    );
    let owner = |name: &str| {
        std::fs::metadata(dir.path().join(name).join("file.txt"))
            .unwrap()
            .uid()
    };
    assert_eq!(owner("dr"), owner("ansible"));
    assert_eq!(read("dr/file.txt"), "baz");
}
