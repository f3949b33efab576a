//! A play that names what it waits for (`after:`) runs only where those plays succeeded
//! everywhere: a failed node skips its dependents with the reason; independent nodes go
//! on; exit 1. Plays in Ansible's order follow ansible-playbook (`host_failures.rs`).

mod util;

use util::{Dr, write_tree};

#[test]
fn failure_skips_dependents_and_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  children:\n    db:\n      hosts:\n        db-01: {ansible_connection: local, broken: true}\n        db-02: {ansible_connection: local, broken: false}\n    app:\n      hosts:\n        app-01: {ansible_connection: local}\n    sig:\n      hosts:\n        sig-01: {ansible_connection: local}\n",
            ),
            (
                "p.yml",
                r#"- name: database
  hosts: db
  gather_facts: false
  tasks:
    - name: maybe fail
      fail: {msg: "disk full on {{ inventory_hostname }}"}
      when: broken
- name: management
  hosts: app
  gather_facts: false
  after: [database]
  tasks:
    - command: touch mgmt-ran
- name: signaling
  hosts: sig
  gather_facts: false
  after: []
  tasks:
    - command: touch sig-ran
"#,
            ),
        ],
    );
    let run = Dr::new(cwd, &["apply", "p.yml", "-i", "inv.yml", "--forks", "4"]).run();
    run.code(1)
        .stdout_has("✗ db-01 database: failed: disk full on db-01")
        .stdout_has("○ app-01 management: skipped because `database` on `db-01` failed")
        .stdout_has("1 host(s) failed.");
    assert!(
        !cwd.join("mgmt-ran").exists(),
        "a dependent of a failed node ran"
    );
    assert!(
        cwd.join("sig-ran").exists(),
        "an independent node did not run"
    );
    let json = Dr::new(
        cwd,
        &["apply", "p.yml", "-i", "inv.yml", "--format", "json"],
    )
    .run();
    let doc = json.code(1).json();
    let outcome = |host: &str| {
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["host"] == host)
            .unwrap()["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(outcome("db-01"), "failed");
    assert_eq!(outcome("db-02"), "ok");
    assert_eq!(outcome("app-01"), "skipped");
    assert_eq!(outcome("sig-01"), "ok");
}
