//! `hostname` against the oracle: ansible-playbook and dr plan the host's own name (no
//! change, in apply mode) and another name (in check mode only: the tests never change
//! this machine's name), and must register the same results (dr adds `msg` and `diff`),
//! facts included. The machine's name is checked to be unchanged afterwards.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - {hostname: {name: "{{ current }}"}, register: r1}
    - {hostname: {name: drtest-other-name}, check_mode: true, register: r2}
    - {hostname: {name: "drtest-other.example.net"}, check_mode: true, register: r3}
    - copy:
        content: "{{ [r1, r2, r3] | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &std::path::Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

fn names() -> (String, String) {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .trim()
            .to_owned()
    };
    (read("/etc/hostname"), read("/proc/sys/kernel/hostname"))
}

#[test]
fn hostname_plans_what_ansible_plans() {
    let before = names();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let current = format!("current={}", before.0);
    let args = ["-i", "inv.yml", "site.yml", "-e", current.as_str()];
    util::ansible_playbook_out(dir.path(), &args);
    util::dr_apply_out(dir.path(), &args);
    assert_eq!(names(), before, "the machine's name changed");

    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    // dr's `diff` is its own shape (a unified diff of the same before/after texts).
    let differences = util::result_differences(&ansible, &dr, &["invocation", "diff"], &["msg"]);
    assert!(
        differences.is_empty(),
        "dr's hostname results differ from ansible's:\n{}",
        differences.join("\n")
    );
    let changed: Vec<bool> = ansible.iter().map(|r| r["changed"] == true).collect();
    assert_eq!(changed, [false, true, true]);
    for (a, d) in ansible.iter().zip(&dr).skip(1) {
        let text = d["diff"][0]["text"].as_str().unwrap_or_default();
        for (side, sign) in [("before", '-'), ("after", '+')] {
            let line = format!("{sign}{}", a["diff"][side].as_str().unwrap_or_default());
            assert!(text.contains(&line), "dr's diff lacks {line:?}: {text}");
        }
    }
}
