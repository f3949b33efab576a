//! `stat` against the oracle: ansible-playbook's `stat` and dr's native one run on the same
//! files (a file, a set-uid script, an empty file, a directory, a FIFO, links, a dangling
//! link, a missing path; followed or not; every checksum algorithm) and must report the
//! same `stat` mapping, key by key.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - stat:
        path: "{{ files }}/{{ item.p }}"
        follow: "{{ item.follow | default(false) }}"
        checksum_algorithm: "{{ item.algo | default('sha1') }}"
        get_mime: "{{ item.mime | default(true) }}"
      loop:
        - {p: plain}
        - {p: plain, algo: md5}
        - {p: plain, algo: sha224}
        - {p: plain, algo: sha256}
        - {p: plain, algo: sha384}
        - {p: plain, algo: sha512}
        - {p: setuid.sh}
        - {p: empty}
        - {p: dir}
        - {p: fifo}
        - {p: link}
        - {p: link, follow: true}
        - {p: dirlink, follow: true}
        - {p: dangling}
        - {p: dangling, follow: true}
        - {p: missing}
        - {p: dir/../plain, mime: false}
      register: r
    - copy:
        content: "{{ r.results | map(attribute='stat') | list | to_json }}"
        dest: "{{ out }}"
"#;

/// Sets a path's own times (`-h`: a link's, not its target's): mtime in the past, atime
/// in the future, so that reading the file (both tools do) leaves its atime alone under
/// `relatime`.
fn pin_times(path: &Path) {
    for args in [["-m", "-d", "@1577836800"], ["-a", "-d", "+1 hour"]] {
        let ok = Command::new("touch")
            .arg("-h")
            .args(args)
            .arg(path)
            .status()
            .expect("touch runs")
            .success();
        assert!(ok, "touch {args:?} {}", path.display());
    }
}

fn make_files(files: &Path) {
    write_tree(
        files,
        &[
            ("plain", "hello, world\n"),
            ("setuid.sh", "#!/bin/sh\necho hi\n"),
            ("empty", ""),
            ("dir/inner", "x"),
        ],
    );
    std::fs::set_permissions(
        files.join("setuid.sh"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::set_permissions(files.join("dir"), std::fs::Permissions::from_mode(0o750)).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(files.join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    symlink("plain", files.join("link")).unwrap();
    symlink(files.join("dir"), files.join("dirlink")).unwrap();
    symlink("nowhere/at/all", files.join("dangling")).unwrap();
    for name in [
        "plain",
        "setuid.sh",
        "empty",
        "dir/inner",
        "dir",
        "fifo",
        "link",
        "dirlink",
        "dangling",
    ] {
        pin_times(&files.join(name));
    }
}

fn stats(dir: &Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

#[test]
fn stat_reports_what_ansibles_stat_reports() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let files = dir.path().join("files");
    make_files(&files);
    let files_arg = format!("files={}", files.display());
    util::ansible_playbook_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);
    util::dr_apply_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);

    let (ansible, dr) = (
        stats(dir.path(), "ansible.json"),
        stats(dir.path(), "dr.json"),
    );
    assert_eq!(ansible.len(), dr.len());
    let mut differences = Vec::new();
    for (i, (a, d)) in ansible.iter().zip(&dr).enumerate() {
        let (Json::Object(a), Json::Object(d)) = (a, d) else {
            panic!("item {i}: not mappings: {a} / {d}");
        };
        for key in a.keys().chain(d.keys().filter(|k| !a.contains_key(*k))) {
            if a.get(key) != d.get(key) {
                differences.push(format!(
                    "item {i} ({}): `{key}`: ansible {:?}, dr {:?}",
                    a.get("path").or(d.get("path")).unwrap_or(&Json::Null),
                    a.get(key),
                    d.get(key)
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "dr's stat differs from ansible's:\n{}",
        differences.join("\n")
    );
    // The fixture exercises what it claims to.
    let plain = ansible[0].as_object().unwrap();
    assert_eq!(plain["mode"], "0644");
    assert_eq!(plain["mimetype"], "text/plain");
    assert!(plain.contains_key("checksum") && plain.contains_key("attributes"));
    assert_eq!(ansible[6]["mode"], "4755");
    assert_eq!(ansible[9]["isfifo"], true);
    assert_eq!(ansible[10]["lnk_target"], "plain");
    assert_eq!(ansible[14], serde_json::json!({"exists": false}));
    assert_eq!(ansible[15], serde_json::json!({"exists": false}));
}
