//! `find` against the oracle: ansible-playbook's `find` and dr's native one search the same
//! tree (globs, excludes, regexes, recursion with depth, hidden entries, file types, links
//! followed or not, age, size, contents in utf-8 and latin-1, checksums, mode, limit, a
//! missing path) and must
//! report the same `files` (in the same order, every key but `atime`), `matched`,
//! `examined`, `msg` and `skipped_paths`.
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
    - find:
        paths: "{{ item.paths | default(files) }}"
        patterns: "{{ item.patterns | default(omit) }}"
        excludes: "{{ item.excludes | default(omit) }}"
        use_regex: "{{ item.use_regex | default(false) }}"
        recurse: "{{ item.recurse | default(false) }}"
        depth: "{{ item.depth | default(omit) }}"
        hidden: "{{ item.hidden | default(false) }}"
        follow: "{{ item.follow | default(false) }}"
        file_type: "{{ item.file_type | default('file') }}"
        age: "{{ item.age | default(omit) }}"
        age_stamp: "{{ item.age_stamp | default('mtime') }}"
        size: "{{ item.size | default(omit) }}"
        contains: "{{ item.contains | default(omit) }}"
        read_whole_file: "{{ item.read_whole_file | default(false) }}"
        get_checksum: "{{ item.get_checksum | default(false) }}"
        checksum_algorithm: "{{ item.algo | default('sha1') }}"
        mode: "{{ item.mode | default(omit) }}"
        exact_mode: "{{ item.exact_mode | default(true) }}"
        limit: "{{ item.limit | default(omit) }}"
        encoding: "{{ item.encoding | default(omit) }}"
      loop:
        - {patterns: "*.log"}
        - {patterns: ["*.log", "*.txt"], excludes: "b*"}
        - {patterns: "*.log,*.conf", recurse: true}
        - {patterns: '^[a-c]\..*$', use_regex: true, recurse: true}
        - {patterns: ['.*\.log'], excludes: ['c.*'], use_regex: true, recurse: true, hidden: true}
        - {recurse: true, depth: 2}
        - {recurse: true, hidden: true}
        - {file_type: directory, recurse: true, hidden: true}
        - {file_type: any, recurse: true}
        - {file_type: link}
        - {recurse: true, follow: true}
        - {age: 2d, recurse: true}
        - {age: -1d, recurse: true}
        - {age: 2d, file_type: directory, recurse: true}
        - {size: 1k, recurse: true}
        - {size: -10b, file_type: any}
        - {contains: 'err.*', recurse: true}
        - {contains: 'full$'}
        - {contains: 'error at end$', read_whole_file: true}
        - {get_checksum: true, algo: sha256, file_type: any}
        - {mode: '0600'}
        - {mode: '0600', exact_mode: false}
        - {recurse: true, limit: 2}
        - {paths: ["{{ files }}/missing", "{{ files }}/sub"]}
        - {paths: "{{ files }}/latin", contains: 'caf'}
        - {paths: "{{ files }}/latin", contains: 'caf.$', encoding: latin-1}
      register: r
    - copy:
        content: "{{ r.results | to_json }}"
        dest: "{{ out }}"
"#;

fn touch(path: &Path, when: &str) {
    let ok = Command::new("touch")
        .args(["-h", "-d", when])
        .arg(path)
        .status()
        .expect("touch runs")
        .success();
    assert!(ok, "touch -d {when} {}", path.display());
}

fn make_tree(files: &Path) {
    write_tree(
        files,
        &[
            ("a.log", "error: disk full\nok\n"),
            ("b.txt", "all good\r\nerror at end\n"),
            ("c.conf", &"x".repeat(2000)),
            (".hidden.log", "h"),
            ("empty.log", ""),
            ("sub/c.log", "0123456789"),
            ("sub/deeper/d.log", "deep\n"),
            ("sub/deeper/deepest/e.txt", "deepest"),
            (".dot/f.log", "f"),
            ("elsewhere/g.log", "through a link"),
        ],
    );
    std::fs::set_permissions(files.join("b.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(files.join("c.conf"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir(files.join("latin")).unwrap();
    std::fs::write(files.join("latin/cafe.txt"), b"caf\xe9\n").unwrap();
    symlink("a.log", files.join("link.log")).unwrap();
    symlink("elsewhere", files.join("dirlink")).unwrap();
    for old in ["a.log", "sub/c.log", "sub/deeper", "link.log"] {
        touch(&files.join(old), "10 days ago");
    }
}

fn results(dir: &Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

/// The keys compared, `atime` left out of each file (reading contents may touch it).
fn compared(r: &Json) -> Json {
    let mut files = r["files"].clone();
    for f in files.as_array_mut().into_iter().flatten() {
        if let Some(f) = f.as_object_mut() {
            f.remove("atime");
        }
    }
    serde_json::json!({
        "files": files,
        "matched": r["matched"],
        "examined": r["examined"],
        "msg": r["msg"],
        "skipped_paths": r["skipped_paths"],
        "changed": r["changed"],
    })
}

#[test]
fn find_reports_what_ansibles_find_reports() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    let files = dir.path().join("files");
    make_tree(&files);
    let files_arg = format!("files={}", files.display());
    util::ansible_playbook_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);
    util::dr_apply_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);

    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    assert_eq!(ansible.len(), dr.len());
    let mut differences = Vec::new();
    for (i, (a, d)) in ansible.iter().zip(&dr).enumerate() {
        let (a, d) = (compared(a), compared(d));
        if a != d {
            differences.push(format!("item {i}:\n  ansible {a}\n  dr      {d}"));
        }
    }
    assert!(
        differences.is_empty(),
        "dr's find differs from ansible's:\n{}",
        differences.join("\n")
    );
    // The fixture exercises what it claims to.
    let matched = |i: usize| ansible[i]["matched"].as_u64().unwrap();
    assert_eq!(matched(0), 2, "{}", ansible[0]);
    assert!(matched(6) > matched(5) && matched(11) > 0 && matched(12) > 0);
    assert_eq!(ansible[22]["msg"], "Limit of matches reached");
    assert_eq!(
        ansible[23]["msg"],
        "Not all paths examined, check warnings for details"
    );
    assert!(ansible[19]["files"][0].get("checksum").is_some());
    assert!(
        ansible[24]["skipped_paths"]
            .to_string()
            .contains("encoding error")
    );
    assert_eq!(matched(25), 1);
}
