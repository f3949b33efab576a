//! dr reads Ansible inventories exactly as Ansible does: `dr inventory list --format json`
//! is compared with the real `ansible-inventory --list` on the same files.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use util::{Dr, repo_root};

/// The directory holding `ansible-inventory` and `ansible-playbook`. Missing = failure.
pub fn ansible_bin() -> PathBuf {
    let dir = std::env::var("DR_TEST_ANSIBLE_BIN").unwrap_or_else(|_| {
        panic!("DR_TEST_ANSIBLE_BIN is not set: run the suite with `tests/run`, which installs ansible-core into a venv and sets it")
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("ansible-inventory").is_file(),
        "no ansible-inventory in {}",
        dir.display()
    );
    dir
}

fn ansible_list(inventory: &std::path::Path) -> Value {
    let out = Command::new(ansible_bin().join("ansible-inventory"))
        .arg("-i")
        .arg(inventory)
        .arg("--list")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "0")
        .output()
        .expect("ansible-inventory runs");
    assert!(
        out.status.success(),
        "ansible-inventory failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ansible-inventory prints JSON")
}

/// Sorts host and child lists: Ansible orders them by its own rules, dr by declaration.
fn normalise(mut doc: Value) -> Value {
    if let Value::Object(map) = &mut doc {
        for (name, entry) in map.iter_mut() {
            if name == "_meta" {
                continue;
            }
            if let Value::Object(e) = entry {
                for key in ["hosts", "children"] {
                    if let Some(Value::Array(items)) = e.get_mut(key) {
                        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                    }
                }
            }
        }
        // Ansible omits empty groups; so do we for the comparison.
        map.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
    }
    doc
}

#[test]
fn nested_groups_group_vars_and_host_vars_match_ansible_inventory() {
    let fixture = repo_root().join("controller/tests/fixtures/inventory/nested");
    let inventory = fixture.join("hosts.yml");
    let ours = Dr::new(
        &fixture,
        &["inventory", "list", "-i", "hosts.yml", "--format", "json"],
    )
    .run();
    ours.code(0);
    let ours = normalise(ours.json());
    let theirs = normalise(ansible_list(&inventory));
    assert_eq!(
        ours["_meta"]["hostvars"], theirs["_meta"]["hostvars"],
        "merged host vars differ"
    );
    let groups = |d: &Value| {
        let mut g: Vec<(String, Value)> = d
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "_meta")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        g.sort_by(|a, b| a.0.cmp(&b.0));
        g
    };
    assert_eq!(
        groups(&ours),
        groups(&theirs),
        "groups and membership differ"
    );
}

#[test]
fn shipped_staging_inventory_matches_ansible_inventory() {
    let root = repo_root();
    let ours = Dr::new(
        &root,
        &[
            "inventory",
            "list",
            "-i",
            "inventory/staging.yml",
            "--format",
            "json",
        ],
    )
    .run();
    ours.code(0);
    let theirs = ansible_list(&root.join("inventory/staging.yml"));
    assert_eq!(normalise(ours.json())["_meta"], normalise(theirs)["_meta"]);
}
