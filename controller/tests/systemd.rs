//! `systemd` against the oracle: ansible-playbook's `systemd` and dr's native one run the
//! same tasks on the same unit file (enable, disable, mask, unmask, check mode, and, on a
//! host without systemd as PID 1 like this one, the failures of `state` and
//! `daemon_reload`) and must register the same results. dr adds `msg` and `diff`; Ansible's
//! `warnings` are in dr's `msg`.
//!
//! Runs as root (the sandbox does): the unit file goes to /usr/lib/systemd/system and is
//! removed, with every link made for it, at the end. Needs ansible-core: `tests/run`
//! installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::PathBuf;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - {systemd: {name: "{{ unit }}", enabled: true}, register: r01}
    - {systemd: {name: "{{ unit }}", enabled: true}, register: r02}
    - {systemd_service: {name: "{{ unit }}", enabled: false}, register: r03}
    - {ansible.builtin.systemd: {name: "{{ unit }}", masked: true}, register: r04}
    - {systemd: {name: "{{ unit }}", masked: true}, register: r05}
    - {systemd: {name: "{{ unit }}", masked: false, enabled: true}, register: r06}
    - {systemd: {name: "{{ unit }}", enabled: true}, check_mode: true, register: r07}
    - {systemd: {name: "{{ unit }}", enabled: false}, check_mode: true, register: r08}
    - {systemd: {unit: "{{ unit }}", enabled: false}, register: r09}
    - {systemd: {name: "{{ unit }}", state: started}, ignore_errors: true, register: r10}
    - systemd: {name: "{{ unit }}", state: restarted}
      environment: {SYSTEMD_OFFLINE: "1"}
      register: r11
    - {systemd: {daemon_reload: true}, ignore_errors: true, register: r12}
    - {systemd: {daemon_reload: true}, check_mode: true, register: r13}
    - {systemd: {name: drtest-no-such-unit, enabled: true}, ignore_errors: true, register: r14}
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14] | to_json }}"
        dest: "{{ out }}"
"#;

/// The unit file, removed with its links when dropped.
struct Unit(String);

impl Unit {
    fn sweep(&self) {
        let etc = PathBuf::from("/etc/systemd/system");
        let _ = std::fs::remove_file(etc.join(&self.0));
        let _ = std::fs::remove_file(etc.join("multi-user.target.wants").join(&self.0));
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        self.sweep();
        let _ = std::fs::remove_file(PathBuf::from("/usr/lib/systemd/system").join(&self.0));
    }
}

fn results(dir: &std::path::Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

#[test]
fn systemd_registers_what_ansibles_systemd_registers() {
    if std::path::Path::new("/run/systemd/system").is_dir() {
        eprintln!("systemd runs here: this comparison is written for hosts without it");
        return;
    }
    let unit = Unit(format!("drtest{}o.service", std::process::id()));
    std::fs::write(
        PathBuf::from("/usr/lib/systemd/system").join(&unit.0),
        "[Unit]\nDescription=dr oracle unit\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let unit_arg = format!("unit={}", unit.0);
    util::ansible_playbook_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &unit_arg]);
    unit.sweep();
    util::dr_apply_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &unit_arg]);

    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    // `exception` is Python's traceback placeholder.
    let mut differences = util::result_differences(
        &ansible,
        &dr,
        &["invocation", "warnings", "exception"],
        &["msg", "diff"],
    );
    for (i, (a, d)) in ansible.iter().zip(&dr).enumerate() {
        // Ansible's warnings are in dr's message.
        for w in a
            .get("warnings")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let w = w.as_str().unwrap_or_default();
            let msg = d.get("msg").and_then(Json::as_str).unwrap_or_default();
            if !msg.contains(w) {
                differences.push(format!(
                    "r{:02}: dr's msg lacks the warning {w:?}: {msg:?}",
                    i + 1
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "dr's systemd results differ from ansible's:\n{}",
        differences.join("\n")
    );
    let changed: Vec<bool> = ansible.iter().map(|r| r["changed"] == true).collect();
    assert_eq!(
        changed,
        [
            true, false, true, true, false, true, false, true, true, false, false, false, false,
            false
        ]
    );
    assert_eq!(ansible[9]["msg"], "Service is in unknown state");
}
