//! `wait_for` against the oracle: ansible-playbook's module and dr's native one wait for
//! the same ports and paths and register the same results: Ansible's timeout messages
//! and whole `elapsed` seconds, its refusals, its captures, its skip in check mode.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// Every task registers `rNN`; the last writes them all to `out`.
const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - wait_for: {port: "{{ port }}", timeout: 1}
      register: r01
      ignore_errors: true
    - wait_for: {port: "{{ port }}", timeout: 1, search_regex: ready, msg: ""}
      register: r02
      ignore_errors: true
    - wait_for: {port: "{{ port }}", timeout: 1, msg: "db-01 never came up"}
      register: r03
      ignore_errors: true
    - wait_for: {port: "{{ port }}", state: stopped, timeout: 1}
      register: r04
    - wait_for: {port: "{{ port }}", state: drained, timeout: 1}
      register: r05
    - wait_for:
        path: "{{ files }}/ready"
        search_regex: '^port (?P<port>\d+)( \w+)?$'
        timeout: 1
      register: r06
    - wait_for: {path: "{{ files }}/ready", state: absent, timeout: 1}
      register: r07
      ignore_errors: true
    - wait_for: {path: "{{ files }}/missing", timeout: 1}
      register: r08
      ignore_errors: true
    - wait_for: {path: "{{ files }}/ready", search_regex: "never", timeout: 1}
      register: r09
      ignore_errors: true
    - wait_for: {path: "{{ files }}/missing", state: absent}
      register: r10
    - wait_for: {port: "{{ port }}", path: /x}
      register: r11
      ignore_errors: true
    - wait_for: {path: /x, state: stopped}
      register: r12
      ignore_errors: true
    - wait_for: {port: "{{ port }}", exclude_hosts: "10.0.0.1,10.0.0.2"}
      register: r13
      ignore_errors: true
    - wait_for: {port: "{{ port }}", state: drained, active_connection_states: [LISTEN]}
      register: r14
      ignore_errors: true
    - wait_for: {port: "{{ port }}", timeout: 30}
      check_mode: true
      register: r15
    - wait_for: {timeout: 1, delay: 1}
      register: r16
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14, r15, r16] | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &std::path::Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

/// A port nothing listens on.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn wait_for_registers_what_ansibles_wait_for_registers() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("files/ready", "booting\nport 8080\n"),
        ],
    );
    let files = format!("files={}", dir.path().join("files").display());
    let port = format!("port={}", free_port());
    let args = ["-i", "inv.yml", "site.yml", "-e", &files, "-e", &port];
    util::ansible_playbook_out(dir.path(), &args);
    util::dr_apply_out(dir.path(), &args);
    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    let differences = util::result_differences(&ansible, &dr, &["invocation"], &[]);
    assert!(
        differences.is_empty(),
        "dr's wait_for differs from ansible's:\n{}\nansible: {}\ndr: {}",
        differences.join("\n"),
        Json::Array(ansible.clone()),
        Json::Array(dr.clone())
    );
    assert_eq!(
        ansible[5]["match_groups"],
        serde_json::json!(["8080", null])
    );
    assert_eq!(ansible[0]["elapsed"], 1);
}
