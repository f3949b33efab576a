//! `user` and `group` against the oracle: ansible-playbook and dr run the same sequence of
//! account tasks (create, the same again, modify, append groups, change the hash, lock,
//! check mode, remove, remove again) on this machine, one after the other, with the same
//! names and ids, and must register the same results (dr adds `msg` and `diff`).
//!
//! A second sequence covers account expiry, password ageing (`chage`) and SSH key
//! generation.
//!
//! Runs as root (the sandbox does). Names start with `drtest`; whatever a failed run left
//! is removed at the end. Needs ansible-core: `tests/run` installs it into a venv and sets
//! DR_TEST_ANSIBLE_BIN.

mod util;

use std::process::Command;

use serde_json::Value as Json;
use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const HASH: &str = "$6$drtestsalt$nnxqyT38nvbduMQabOo/ab0zhZt3.o2cMAHd1CUeQCT5IVZRw.vO9XT2X5bhZ/cgyo/NyFIHMxxve1OhRuR691";
const HASH2: &str = "$6$drtestsalt2$tNSncuMSncDdjonyrTfk4U6NXyv9Gm960ulK4T0F6miKsNW9jrtQswB5OW94Db3WaQomdj2XU2JNpDmUaEgGN1";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  vars:
    u: "{{ p }}u"
    g1: "{{ p }}a"
    g2: "{{ p }}b"
    g3: "{{ p }}c"
  tasks:
    - {group: {name: "{{ g1 }}", gid: "{{ id }}"}, register: r01}
    - {group: {name: "{{ g1 }}", gid: "{{ id }}"}, register: r02}
    - {group: {name: "{{ g2 }}", gid: "{{ id | int + 1 }}", system: true}, register: r03}
    - {group: {name: "{{ g3 }}", gid: "{{ id | int + 2 }}"}, register: r04}
    - {group: {name: "{{ g2 }}", gid: "{{ id | int + 3 }}"}, register: r05}
    - {group: {name: "{{ g2 }}", gid: "{{ id | int + 4 }}"}, check_mode: true, register: r06}
    - name: create
      user:
        name: "{{ u }}"
        uid: "{{ id }}"
        group: "{{ g1 }}"
        groups: ["{{ g2 }}"]
        shell: /bin/sh
        comment: DR oracle
        home: "{{ homes }}/{{ u }}"
        password: "{{ hash }}"
      register: r07
    - name: the same again
      user:
        name: "{{ u }}"
        uid: "{{ id }}"
        group: "{{ g1 }}"
        groups: "{{ g2 }}"
        shell: /bin/sh
        comment: DR oracle
        home: "{{ homes }}/{{ u }}"
        password: "{{ hash }}"
      register: r08
    - {user: {name: "{{ u }}", groups: "{{ g3 }}", append: true}, register: r09}
    - {user: {name: "{{ u }}", groups: ["{{ g3 }}"]}, register: r10}
    - {user: {name: "{{ u }}", shell: /bin/bash, password: "{{ hash2 }}"}, register: r11}
    - {user: {name: "{{ u }}", password: "{{ hash }}", update_password: on_create}, register: r12}
    - {user: {name: "{{ u }}", password_lock: true}, register: r13}
    - {user: {name: "{{ u }}", password_lock: true}, register: r14}
    - {user: {name: "{{ u }}", comment: changed}, check_mode: true, register: r15}
    - {user: {name: "{{ u }}", groups: []}, register: r16}
    - {user: {name: "{{ u }}x"}, check_mode: true, register: r17}
    - {user: {name: "{{ u }}", state: absent, remove: true}, register: r18}
    - {user: {name: "{{ u }}", state: absent}, register: r19}
    - {group: {name: "{{ g1 }}", state: absent}, register: r20}
    - {group: {name: "{{ g1 }}", state: absent}, register: r21}
    - {group: {name: "{{ g2 }}", state: absent}, check_mode: true, register: r22}
    - {group: {name: "{{ g2 }}", state: absent}, register: r23}
    - {group: {name: "{{ g3 }}", state: absent}, register: r24}
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14, r15, r16, r17, r18, r19, r20, r21, r22, r23, r24] | to_json }}"
        dest: "{{ out }}"
"#;

/// Removes the test's accounts when dropped, whatever happened.
struct Cleanup(String);

impl Cleanup {
    fn sweep(&self) {
        let p = &self.0;
        for u in ["u", "e"] {
            let _ = Command::new("userdel")
                .args(["-r", "-f", &format!("{p}{u}")])
                .output();
        }
        for g in ["a", "b", "c", "e"] {
            let _ = Command::new("groupdel").arg(format!("{p}{g}")).output();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.sweep();
    }
}

/// A first id such that it and the four after it are no user's and no group's.
fn free_ids(from: u32) -> u32 {
    let taken: Vec<u32> = ["/etc/passwd", "/etc/group"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split(':').nth(2)?.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    (from..)
        .step_by(10)
        .find(|id| (*id..id + 5).all(|i| !taken.contains(&i)))
        .expect("a free id range")
}

fn results(dir: &std::path::Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

#[test]
fn user_and_group_register_what_ansible_registers() {
    let prefix = format!("drtest{}o", std::process::id());
    let cleanup = Cleanup(prefix.clone());
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let id = free_ids(43000).to_string();
    let homes = dir.path().join("homes");
    let run = |dr: bool| {
        let out = if dr {
            "out=dr.json"
        } else {
            "out=ansible.json"
        };
        let vars = [
            format!("p={prefix}"),
            format!("id={id}"),
            format!("homes={}", homes.display()),
            format!("hash={HASH}"),
            format!("hash2={HASH2}"),
        ];
        let mut args = vec!["-i", "inv.yml", "site.yml", "-e", out];
        for v in &vars {
            args.extend(["-e", v.as_str()]);
        }
        if dr {
            // `remove: true` destroys a home directory: consent.
            args.splice(0..0, ["apply", "--yes"]);
            Dr::new(dir.path(), &args).run().code(0);
        } else {
            util::ansible_playbook(dir.path(), &args);
        }
    };
    run(false);
    cleanup.sweep();
    // Ansible made the homes' parent for the user's home; dr must find it missing too.
    std::fs::remove_dir_all(&homes).unwrap();
    run(true);

    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    let differences = util::result_differences(&ansible, &dr, &["invocation"], &["msg", "diff"]);
    assert!(
        differences.is_empty(),
        "dr's user/group results differ from ansible's:\n{}",
        differences.join("\n")
    );
    // The sequence exercises what it claims to.
    let changed: Vec<bool> = ansible.iter().map(|r| r["changed"] == true).collect();
    assert_eq!(
        changed,
        [
            true, false, true, true, true, true, true, false, true, true, true, false, true, false,
            true, true, true, true, false, true, false, true, true, true
        ]
    );
    assert!(
        !std::fs::read_to_string(dir.path().join("dr.json"))
            .unwrap()
            .contains("drtestsalt")
    );
}

const EXPIRY_PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  vars:
    u: "{{ p }}e"
  tasks:
    - name: create with expiry and password ageing
      user:
        name: "{{ u }}"
        uid: "{{ id }}"
        home: "{{ homes }}/{{ u }}"
        expires: 1893585600
        password_expire_max: 90
        password_expire_min: 1
        password_expire_warn: 7
      register: r01
    - name: the same again
      user:
        name: "{{ u }}"
        expires: 1893585600
        password_expire_max: 90
        password_expire_min: 1
        password_expire_warn: 7
      register: r02
    - {user: {name: "{{ u }}", expires: 1893589200.5}, register: r03}
    - {user: {name: "{{ u }}", expires: 1893672000, password_expire_max: 60}, check_mode: true, register: r04}
    - {user: {name: "{{ u }}", expires: 1893672000, password_expire_max: 60}, register: r05}
    - {user: {name: "{{ u }}", expires: -1}, register: r06}
    - {user: {name: "{{ u }}", expires: -1}, register: r07}
    - {user: {name: "{{ u }}", generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: drtest key}, check_mode: true, register: r08}
    - {user: {name: "{{ u }}", generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: drtest key}, register: r09}
    - {user: {name: "{{ u }}", generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: drtest key}, register: r10}
    - {user: {name: "{{ u }}", state: absent, remove: true}, register: r11}
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11] | to_json }}"
        dest: "{{ out }}"
"#;

/// A generated key's fingerprint and public key differ between the two runs: the random
/// part is replaced, the shape kept.
fn without_key_material(results: &mut [Json]) {
    for r in results {
        for k in ["ssh_fingerprint", "ssh_public_key"] {
            if let Some(Json::String(s)) = r.get_mut(k) {
                let words: Vec<String> = s
                    .split(' ')
                    .enumerate()
                    .map(|(i, w)| {
                        if i == 1 {
                            "KEY".to_owned()
                        } else {
                            w.to_owned()
                        }
                    })
                    .collect();
                *s = words.join(" ");
            }
        }
    }
}

#[test]
fn user_expiry_and_ssh_key_register_what_ansible_registers() {
    let prefix = format!("drtest{}x", std::process::id());
    let cleanup = Cleanup(prefix.clone());
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", EXPIRY_PLAYBOOK)],
    );
    let id = free_ids(44000).to_string();
    let homes = dir.path().join("homes");
    std::fs::create_dir(&homes).unwrap();
    let run = |dr: bool| {
        let out = if dr {
            "out=dr.json"
        } else {
            "out=ansible.json"
        };
        let vars = [
            format!("p={prefix}"),
            format!("id={id}"),
            format!("homes={}", homes.display()),
        ];
        let mut args = vec!["-i", "inv.yml", "site.yml", "-e", out];
        for v in &vars {
            args.extend(["-e", v.as_str()]);
        }
        if dr {
            args.splice(0..0, ["apply", "--yes"]);
            Dr::new(dir.path(), &args).run().code(0);
        } else {
            util::ansible_playbook(dir.path(), &args);
        }
    };
    run(false);
    cleanup.sweep();
    run(true);

    let (mut ansible, mut dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    without_key_material(&mut ansible);
    without_key_material(&mut dr);
    let differences = util::result_differences(&ansible, &dr, &["invocation"], &["msg", "diff"]);
    assert!(
        differences.is_empty(),
        "dr's user results differ from ansible's:\n{}",
        differences.join("\n")
    );
    let changed: Vec<bool> = ansible.iter().map(|r| r["changed"] == true).collect();
    assert_eq!(
        changed,
        [
            true, false, false, true, true, true, false, true, true, false, true
        ]
    );
    assert!(
        ansible[9]["ssh_public_key"]
            .as_str()
            .is_some_and(|k| k == "ssh-ed25519 KEY drtest key")
    );
}
