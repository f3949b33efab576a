//! The `diff` of a `copy` result in diff mode, against the oracle (ansible-playbook 2.19,
//! local connection): Ansible's entries (`before`, `after` and their headers, or a marker
//! for a binary side), for `content` and a controller file, new or replaced; the `file` module's
//! when only the attributes change, or nothing.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  diff: true
  tasks:
    - copy: {content: \"new\\n\", dest: \"{{ playbook_dir }}/out/a\"}
      register: r1
    - copy: {content: \"changed\\n\", dest: \"{{ playbook_dir }}/out/a\"}
      register: r2
    - copy: {src: f.txt, dest: \"{{ playbook_dir }}/out/b\"}
      register: r3
    - copy: {src: f.txt, dest: \"{{ playbook_dir }}/out/bin\"}
      register: r4
    - copy: {src: f.txt, dest: \"{{ playbook_dir }}/out/b\"}
      register: r5
    - copy: {src: f.txt, dest: \"{{ playbook_dir }}/out/b\", mode: \"0600\"}
      register: r6
    - copy:
        dest: \"{{ playbook_dir }}/result.json\"
        content: \"{{ [r1.diff, r2.diff, r3.diff, r4.diff, r5.diff | default('none'), r6.diff | default('none')] | to_json }}\"
      diff: false
";

fn project(dir: &Path) {
    write_tree(
        dir,
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("files/f.txt", "from a file\n"),
        ],
    );
    std::fs::create_dir(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/bin"), b"\x00\x01binary").unwrap();
}

/// The registered diffs, with the project directory written `DIR`.
fn diffs(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("result.json")).unwrap();
    let text = text.replace(&dir.display().to_string(), "DIR");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_copy_result_in_diff_mode_carries_ansible_s_diff_entries() {
    let ansible = tempfile::tempdir().unwrap();
    project(ansible.path());
    util::ansible_playbook(ansible.path(), &["-i", "inv.yml", "p.yml"]);
    let expected = diffs(ansible.path());
    assert_eq!(expected[0][0]["before"], "", "{expected:#}");

    let dr = tempfile::tempdir().unwrap();
    project(dr.path());
    Dr::new(dr.path(), &["apply", "-i", "inv.yml", "p.yml"])
        .run()
        .code(0);
    assert_eq!(diffs(dr.path()), expected);
}
