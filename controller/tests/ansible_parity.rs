//! dr reads Ansible inventories exactly as Ansible does: `dr inventory list --format json`
//! is compared with the real `ansible-inventory --list` on the same files.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::process::Command;

use serde_json::Value;
use util::{Dr, ansible_bin, repo_root};

fn ansible_list(inventory: &std::path::Path) -> Value {
    let out = util::ansible("ansible-inventory")
        .arg("-i")
        .arg(inventory)
        .arg("--list")
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
/// Drops `_meta.profile`, which ansible-core 2.19 adds to name its output format.
fn normalise(mut doc: Value) -> Value {
    if let Some(Value::Object(meta)) = doc.get_mut("_meta") {
        meta.remove("profile");
    }
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

/// Writes the starting state both tools get: an env file to be edited in place (no
/// trailing newline, a key to drop).
fn seed(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("etc/akira")).unwrap();
    std::fs::write(
        root.join("etc/akira/app.env"),
        "FOO=1\nDATABASE_URL=postgres://app:pw@akira-db-01:5432/akira\nOBSOLETE=yes\nBAR=2",
    )
    .unwrap();
}

fn tree(root: &std::path::Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.push((rel + "/", Vec::new(), mode));
                stack.push(e.path());
            } else {
                out.push((rel, std::fs::read(e.path()).unwrap(), mode));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn file_copy_template_lineinfile_command_leave_the_same_bytes_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo_root().join("controller/tests/fixtures/parity");
    let (ours, theirs) = (dir.path().join("dr"), dir.path().join("ansible"));
    seed(&ours);
    seed(&theirs);
    let inv = dir.path().join("inv.yml");
    std::fs::write(
        &inv,
        "all:\n  hosts:\n    parity-01:\n      ansible_connection: local\n",
    )
    .unwrap();
    let playbook = fixture.join("site.yml");

    let bin = ansible_bin();
    let out = Command::new(bin.join("ansible-playbook"))
        .arg("-i")
        .arg(&inv)
        .arg(&playbook)
        .arg("-e")
        .arg(format!("root={}", theirs.display()))
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            bin.join("python3").display()
        ))
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let root_arg = format!("root={}", ours.display());
    let run = Dr::new(
        dir.path(),
        &[
            "apply",
            playbook.to_str().unwrap(),
            "-i",
            "inv.yml",
            "-e",
            &root_arg,
        ],
    )
    .run();
    run.code(0);
    let (a, b) = (tree(&ours), tree(&theirs));
    for ((pa, ba, ma), (pb, bb, mb)) in a.iter().zip(b.iter()) {
        assert_eq!(pa, pb, "different file sets");
        assert_eq!(
            String::from_utf8_lossy(ba),
            String::from_utf8_lossy(bb),
            "contents of {pa} differ"
        );
        assert_eq!(ma, mb, "mode of {pa} differs: dr {ma:o}, ansible {mb:o}");
    }
    assert_eq!(
        a.len(),
        b.len(),
        "different file sets: dr {a:?}\nansible {b:?}",
        a = a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b = b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );

    // And dr converges: a second apply changes nothing.
    Dr::new(
        dir.path(),
        &[
            "apply",
            playbook.to_str().unwrap(),
            "-i",
            "inv.yml",
            "-e",
            &root_arg,
        ],
    )
    .run()
    .code(0)
    .stdout_has("Applied: 0 change(s).");
}

/// dr's lists of Ansible's keywords per level are exactly ansible-core's own (its classes'
/// field attributes), so the refusal test in `silent_ignores.rs` covers every keyword.
#[test]
fn keyword_lists_are_ansible_cores() {
    use dr::playbook::keywords::{ANSIBLE_BLOCK, ANSIBLE_PLAY, ANSIBLE_ROLE, ANSIBLE_TASK};
    let script = "import json\nfrom ansible.playbook.play import Play\nfrom ansible.playbook.block import Block\nfrom ansible.playbook.task import Task\nfrom ansible.playbook.role.include import RoleInclude\nprint(json.dumps({n: sorted(c.fattributes) for n, c in [('play', Play), ('block', Block), ('task', Task), ('role', RoleInclude)]}))\n";
    let out = Command::new(ansible_bin().join("python"))
        .args(["-c", script])
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Internal attributes (`async_val` backs `async`, `loop_with` backs `with_<lookup>`) are
    // not keywords; `local_action` is a keyword that is not an attribute.
    let internal = ["async_val", "loop_with"];
    for (level, ours) in [
        ("play", ANSIBLE_PLAY),
        ("block", ANSIBLE_BLOCK),
        ("task", ANSIBLE_TASK),
        ("role", ANSIBLE_ROLE),
    ] {
        let mut want: Vec<&str> = theirs[level]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| !internal.contains(k))
            .collect();
        if level == "task" {
            want.push("local_action");
        }
        want.sort_unstable();
        let mut got = ours.to_vec();
        got.sort_unstable();
        assert_eq!(got, want, "{level} keywords differ from ansible-core's");
    }
}
