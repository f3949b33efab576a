//! `unarchive` against the oracle: ansible-playbook (GNU tar, unzip) and dr's native module
//! unpack the same archives (tar.gz, tar.xz, zip, built here with tar, xz and zip) with the
//! same playbook, each into its own root; the extracted trees (content and mode) and every
//! task's `changed`, `handler`, `files` and `skipped` must match: a second run is ok, a
//! file changed on disk is a change again, `creates` skips, `exclude`/`mode`/`list_files`
//! apply. Check mode writes nothing for either; for a tarball Ansible skips the task in
//! check mode (its gtar handler has none) where dr reports the change it would make; and
//! `keep_newer` keeping a newer file of a tarball is no change for dr, one for Ansible.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz", list_files: true}
      register: r01
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz", list_files: true}
      register: r02
    - unarchive: {src: rel.tar.xz, dest: "{{ root }}/txz", list_files: true}
      register: r03
    - unarchive: {src: rel.tar.xz, dest: "{{ root }}/txz"}
      register: r04
    - unarchive: {src: rel.zip, dest: "{{ root }}/zip", list_files: true}
      register: r05
    - unarchive: {src: rel.zip, dest: "{{ root }}/zip", list_files: true}
      register: r06
    - unarchive:
        src: rel.tar.gz
        dest: "{{ root }}/excl"
        exclude: [README]
        mode: "u=rwX,g=rX,o="
        list_files: true
      register: r07
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/excl", exclude: [README], mode: "u=rwX,g=rX,o="}
      register: r08
    - unarchive: {src: rel.zip, dest: "{{ root }}/zexcl", exclude: ["app/README"], mode: "0750", list_files: true}
      register: r09
    - unarchive: {src: rel.zip, dest: "{{ root }}/zexcl", exclude: ["app/README"], mode: "0750"}
      register: r10
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz", creates: "{{ root }}/tgz/app"}
      register: r11
    - unarchive: {src: "{{ files }}/rel.tar.gz", dest: "{{ root }}/remote", remote_src: true}
      register: r12
    - unarchive: {src: "{{ files }}/rel.tar.gz", dest: "{{ root }}/remote", copy: false}
      register: r13
    - copy: {content: "edited\n", dest: "{{ root }}/tgz/app/README"}
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz"}
      register: r14
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz"}
      register: r15
    - copy: {content: "edited\n", dest: "{{ root }}/zip/app/bin/run.sh", mode: "0755"}
    - unarchive: {src: rel.zip, dest: "{{ root }}/zip"}
      register: r16
    - unarchive: {src: rel.zip, dest: "{{ root }}/zip"}
      register: r17
    - unarchive: {src: rel.zip, dest: "{{ root }}/check_zip"}
      check_mode: true
      register: r18
    - unarchive: {src: dot.tar.gz, dest: "{{ root }}/dot", list_files: true}
      register: r19
    - unarchive: {src: dot.tar.gz, dest: "{{ root }}/dot", list_files: true}
      register: r20
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/incl", include: [app/bin], list_files: true}
      register: r21
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/incl", include: [app/bin], list_files: true}
      register: r22
    - unarchive: {src: rel.zip, dest: "{{ root }}/zincl", include: ["app/etc/*"], list_files: true}
      register: r23
    - unarchive: {src: rel.zip, dest: "{{ root }}/zincl", include: ["app/etc/*"], list_files: true}
      register: r24
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/owned", owner: nobody, group: nogroup}
      register: r25
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/owned", owner: nobody, group: nogroup}
      register: r26
    - unarchive: {src: rel.zip, dest: "{{ root }}/zowned", owner: nobody, group: nogroup}
      register: r27
    - unarchive: {src: rel.zip, dest: "{{ root }}/zowned", owner: nobody, group: nogroup}
      register: r28
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/owned"}
      register: r29
    - copy: {content: "mine\n", dest: "{{ root }}/tgz/app/README"}
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/tgz", keep_newer: true}
      register: r30
    - copy: {content: "mine\n", dest: "{{ root }}/zip/app/README"}
    - unarchive: {src: rel.zip, dest: "{{ root }}/zip", keep_newer: true}
      register: r31
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/check_tgz"}
      check_mode: true
      register: check_tgz
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14, r15, r16, r17, r18, r19, r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31, check_tgz] | to_json }}"
        dest: "{{ out }}"
"#;

/// Dest directories the playbook unpacks into (Ansible's `dest` must exist).
const DESTS: &[&str] = &[
    "tgz",
    "txz",
    "zip",
    "excl",
    "zexcl",
    "remote",
    "check_zip",
    "check_tgz",
    "dot",
    "incl",
    "zincl",
    "owned",
    "zowned",
];

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The release tree and its archives in `files/`, every mtime pinned.
fn make_archives(dir: &Path) {
    let tree = dir.join("tree");
    write_tree(
        &tree,
        &[
            ("app/bin/run.sh", "#!/bin/sh\necho run\n"),
            ("app/README", "read me\n"),
            ("app/etc/conf.txt", "a=1\n"),
            ("app/lib/big.bin", &"0123456789".repeat(20_000)),
        ],
    );
    std::os::unix::fs::symlink("bin/run.sh", tree.join("app/run")).unwrap();
    for (path, mode) in [
        ("app", 0o755),
        ("app/bin", 0o755),
        ("app/etc", 0o750),
        ("app/lib", 0o755),
        ("app/bin/run.sh", 0o755),
        ("app/README", 0o644),
        ("app/etc/conf.txt", 0o640),
        ("app/lib/big.bin", 0o644),
    ] {
        std::fs::set_permissions(tree.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    run(Command::new("find").arg(&tree).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        "@1600000000",
        "{}",
        "+",
    ]));
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-czf")
        .arg(files.join("rel.tar.gz"))
        .arg("app"));
    run(Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cJf")
        .arg(files.join("rel.tar.xz"))
        .arg("app"));
    run(Command::new("tar")
        .arg("-C")
        .arg(tree.join("app"))
        .arg("-czf")
        .arg(files.join("dot.tar.gz"))
        .arg("."));
    run(Command::new("zip")
        .current_dir(&tree)
        .args(["-q", "-r", "-y", "-X"])
        .arg(files.join("rel.zip"))
        .arg("app"));
}

/// Every path under `root`: kind, mode, and content (a link's target).
fn tree(root: &Path) -> BTreeMap<String, (char, u32, Vec<u8>, u32, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let mode = meta.mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(
                    rel,
                    (
                        'l',
                        0,
                        target.into_os_string().into_encoded_bytes(),
                        meta.uid(),
                        meta.gid(),
                    ),
                );
            } else if meta.is_dir() {
                out.insert(rel, ('d', mode, Vec::new(), meta.uid(), meta.gid()));
                stack.push(path);
            } else {
                out.insert(
                    rel,
                    (
                        'f',
                        mode,
                        std::fs::read(&path).unwrap(),
                        meta.uid(),
                        meta.gid(),
                    ),
                );
            }
        }
    }
    out
}

fn results(dir: &Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out} is not a JSON list: {other:?}\n{text}"),
    }
}

#[test]
fn unarchive_unpacks_what_ansibles_unarchive_unpacks() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", PLAYBOOK)],
    );
    make_archives(dir.path());
    for root in ["ansible-root", "dr-root"] {
        for d in DESTS {
            std::fs::create_dir_all(dir.path().join(root).join(d)).unwrap();
        }
    }
    let files_arg = format!("files={}", dir.path().join("files").display());
    let root_of = |r: &str| format!("root={}", dir.path().join(r).display());
    let (a_root, d_root) = (root_of("ansible-root"), root_of("dr-root"));
    util::ansible_playbook_out(
        dir.path(),
        &["-i", "inv.yml", "site.yml", "-e", &files_arg, "-e", &a_root],
    );
    util::dr_apply_out(
        dir.path(),
        &["-i", "inv.yml", "site.yml", "-e", &files_arg, "-e", &d_root],
    );

    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    assert_eq!(ansible.len(), dr.len());
    let mut differences = Vec::new();
    let last = ansible.len() - 1;
    // r30: `keep_newer` on a tarball whose file on disk is newer. Both keep the file; GNU
    // `tar --diff` ignores `--keep-newer-files`, so Ansible reports a change on every run,
    // where dr reports none (a second apply changes nothing).
    let keep_newer_tar = 29;
    assert_eq!(ansible[keep_newer_tar]["changed"], true);
    assert_eq!(dr[keep_newer_tar]["changed"], false);
    for (i, (a, d)) in ansible.iter().zip(&dr).enumerate().take(last) {
        for key in ["changed", "handler", "files", "skipped", "state", "mode"] {
            if i == keep_newer_tar && key == "changed" {
                continue;
            }
            if a.get(key) != d.get(key) {
                differences.push(format!(
                    "r{:02}: `{key}`: ansible {:?}, dr {:?}",
                    i + 1,
                    a.get(key),
                    d.get(key)
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "dr's results differ from Ansible's:\n{}",
        differences.join("\n")
    );
    // Spot checks, so that "both did the same wrong thing" cannot pass.
    let changed: Vec<bool> = dr
        .iter()
        .map(|r| r["changed"] == Json::Bool(true))
        .collect();
    assert_eq!(
        &changed[..last],
        &[
            true, false, true, false, true, false, true, false, true, false, false, true, false,
            true, false, true, false, true, true, false, true, false, true, false, true, false,
            true, false, true, false, false
        ]
    );
    assert_eq!(dr[0]["handler"], "TgzArchive");
    assert_eq!(dr[4]["handler"], "ZipArchive");
    assert_eq!(dr[10]["skipped"], true);

    // Check mode on a tarball: Ansible skips, dr says what would change; neither writes.
    assert_eq!(ansible[last]["skipped"], true, "{}", ansible[last]);
    assert_eq!(dr[last]["changed"], true, "{}", dr[last]);

    let (a_tree, d_tree) = (
        tree(&dir.path().join("ansible-root")),
        tree(&dir.path().join("dr-root")),
    );
    for (path, a) in &a_tree {
        match d_tree.get(path) {
            None => differences.push(format!("{path}: missing in dr's tree")),
            Some(d) if d.0 != a.0 || d.1 != a.1 => differences.push(format!(
                "{path}: ansible {} {:04o}, dr {} {:04o}",
                a.0, a.1, d.0, d.1
            )),
            Some(d) if d.2 != a.2 => differences.push(format!("{path}: content differs")),
            Some(d) if (d.3, d.4) != (a.3, a.4) => differences.push(format!(
                "{path}: ansible owner {}:{}, dr {}:{}",
                a.3, a.4, d.3, d.4
            )),
            Some(_) => {}
        }
    }
    for path in d_tree.keys().filter(|p| !a_tree.contains_key(*p)) {
        differences.push(format!("{path}: only in dr's tree"));
    }
    assert!(
        differences.is_empty(),
        "dr's trees differ from Ansible's:\n{}",
        differences.join("\n")
    );
    assert!(a_tree.keys().any(|p| p == "tgz/app/lib/big.bin"));
    assert!(
        !d_tree
            .keys()
            .any(|p| p.starts_with("check_") && p.contains("app"))
    );
}

const FAILURES: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}/nope"}
      register: f01
      ignore_errors: true
    - unarchive: {src: "{{ root }}/missing.tgz", dest: "{{ root }}", remote_src: true}
      register: f02
      ignore_errors: true
    - unarchive: {src: "{{ root }}/empty", dest: "{{ root }}", remote_src: true}
      register: f03
      ignore_errors: true
    - unarchive: {src: "{{ root }}/text", dest: "{{ root }}", remote_src: true}
      register: f04
      ignore_errors: true
    - unarchive: {src: "https://example.invalid/a.tgz", dest: "{{ root }}"}
      register: f05
      ignore_errors: true
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}", copy: true, remote_src: false}
      register: f06
      ignore_errors: true
    - unarchive: {src: rel.tar.gz, dest: "{{ root }}", include: [a], exclude: [b]}
      register: f07
      ignore_errors: true
    - copy:
        content: "{{ [f01, f02, f03, f04, f05, f06, f07] | to_json }}"
        dest: "{{ out }}"
"#;

#[test]
fn unarchive_fails_with_ansibles_messages() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("fail.yml", FAILURES)],
    );
    make_archives(dir.path());
    for root in ["ansible-root", "dr-root"] {
        write_tree(
            &dir.path().join(root),
            &[("empty", ""), ("text", "not an archive\n")],
        );
    }
    let root_of = |r: &str| format!("root={}", dir.path().join(r).display());
    util::ansible_playbook_out(
        dir.path(),
        &["-i", "inv.yml", "fail.yml", "-e", &root_of("ansible-root")],
    );
    util::dr_apply_out(
        dir.path(),
        &["-i", "inv.yml", "fail.yml", "-e", &root_of("dr-root")],
    );
    let (ansible, dr) = (
        results(dir.path(), "ansible.json"),
        results(dir.path(), "dr.json"),
    );
    assert_eq!(ansible.len(), dr.len());
    let mut differences = Vec::new();
    for (i, (a, d)) in ansible.iter().zip(&dr).enumerate() {
        // Each tool has its own root; the handler's reasons (after the first line) name
        // the commands Ansible tried.
        let msg = |r: &Json| {
            r["msg"]
                .as_str()
                .unwrap_or_default()
                .replace("ansible-root", "ROOT")
                .replace("dr-root", "ROOT")
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        if a["failed"] != d["failed"] || msg(a) != msg(d) {
            differences.push(format!(
                "f{:02}: ansible {} {:?}, dr {} {:?}",
                i + 1,
                a["failed"],
                msg(a),
                d["failed"],
                msg(d)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "dr's failures differ from Ansible's:\n{}",
        differences.join("\n")
    );
}
