//! `apt_repository` and `deb822_repository` against the oracle: the same tasks run by
//! ansible-playbook and by dr must write byte-identical files with the same modes and
//! register the same results.
//!
//! `apt_repository` works on the files apt's configuration names, so it runs under an
//! `APT_CONFIG` of its own (sources and lists in a temp dir) and never sees the machine's
//! sources. `deb822_repository` always writes `/etc/apt/sources.list.d/<slug>.sources`, as
//! Ansible's does: the test uses a name no one else uses, keeps the source disabled
//! (`enabled: false`, so apt ignores it meanwhile) and removes it at the end.
//!
//! Needs root and ansible-core with python3-apt and python3-debian (`tests/run`).

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const LIST_PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  environment:
    APT_CONFIG: "{{ base }}/apt.conf"
  tasks:
    - apt_repository: {repo: "deb [trusted=yes] file:{{ base }}/repo ./"}
      register: r01
    - apt_repository: {repo: "deb [trusted=yes] file:{{ base }}/repo ./"}
      register: r02
    - apt_repository:
        repo: deb http://deb.example.invalid/debian bookworm main
        filename: custom
        mode: "0600"
        update_cache: false
      register: r03
    - apt_repository:
        repo: "deb  http://old.example.invalid/debian   bookworm main"
        update_cache: false
      register: r04
    - apt_repository:
        repo: deb http://deb.example.invalid/debian bookworm main
        state: absent
        update_cache: false
      register: r05
    - apt_repository: {repo: "deb http://deb.example.invalid/debian bookworm main", state: absent}
      register: r06
    - apt_repository: {repo: "deb http://x.example.invalid/debian bookworm main", update_cache: false}
      check_mode: true
      register: r07
    - apt_repository: {repo: "not a source"}
      register: r08
      ignore_errors: true
    - apt_repository:
        repo: deb http://y.example.invalid/debian bookworm main
        filename: kept
        mode: "0640"
        update_cache: false
      register: r09
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, r06, r07, r08, r09] | to_json }}"
        dest: "{{ playbook_dir }}/{{ out }}"
"#;

/// A file: its path relative to the directory, its mode, its bytes.
type FileState = (String, u32, Vec<u8>);

/// A directory's files, sorted.
fn files(dir: &Path) -> Vec<FileState> {
    let mut out: Vec<FileState> = util::snapshot(dir)
        .into_iter()
        .map(|(p, bytes, _)| {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                mode,
                bytes,
            )
        })
        .collect();
    out.sort();
    out
}

/// Runs the apt_repository playbook with `tool` in a fresh base; returns the results (the
/// base directory written `BASE`) and the sources files.
fn run_list(tool: &str) -> (Vec<Json>, Vec<FileState>) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let b = base.display().to_string();
    for sub in [
        "repo",
        "lists/partial",
        "cache/archives/partial",
        "sources.list.d",
    ] {
        std::fs::create_dir_all(base.join(sub)).unwrap();
    }
    write_tree(
        &base,
        &[
            ("repo/Packages", ""),
            (
                "sources.list",
                "# the machine's list\n#deb  http://old.example.invalid/debian bookworm main\n\n#  deb http://keep.example.invalid/debian  bookworm main # kept\n",
            ),
            (
                "sources.list.d/other.list",
                "# deb http://other.example.invalid/debian bookworm main\n",
            ),
            (
                "apt.conf",
                &format!(
                    "Dir::Etc::SourceList \"{b}/sources.list\";\nDir::Etc::SourceParts \"{b}/sources.list.d\";\nDir::State::Lists \"{b}/lists\";\nDir::Cache \"{b}/cache\";\nAPT::Sandbox::User \"root\";\n"
                ),
            ),
        ],
    );
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", LIST_PLAYBOOK)],
    );
    let arg = format!("base={b}");
    let args = ["-i", "inv.yml", "site.yml", "-e", arg.as_str()];
    let out = if tool == "ansible" {
        util::ansible_playbook_out(dir.path(), &args);
        "ansible.json"
    } else {
        util::dr_apply_out(dir.path(), &args);
        "dr.json"
    };
    // The suggested file name holds the temp dir's name: `file_tmp_tmpXYZ_base_repo.list`.
    let slug = b
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let text = std::fs::read_to_string(dir.path().join(out))
        .unwrap()
        .replace(&b, "BASE")
        .replace(&slug, "SLUG");
    let results = match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out}: not a list: {other:?}"),
    };
    let mut sources = files(&base.join("sources.list.d"));
    sources.extend(
        files(&base)
            .into_iter()
            .filter(|(p, _, _)| p == "sources.list"),
    );
    let sources = sources
        .into_iter()
        .map(|(p, m, bytes)| {
            let text = String::from_utf8_lossy(&bytes).replace(&b, "BASE");
            (p.replace(&slug, "SLUG"), m, text.into_bytes())
        })
        .collect();
    (results, sources)
}

#[test]
fn apt_repository_writes_what_ansibles_writes() {
    util::assert_fresh_agent();
    let (ansible, ansible_files) = run_list("ansible");
    let (dr, dr_files) = run_list("dr");
    let differences = util::result_differences(
        &ansible,
        &dr,
        &["invocation", "diff", "warnings"],
        &["diff"],
    );
    assert!(
        differences.is_empty(),
        "dr's apt_repository differs from ansible's:\n{}\nansible: {ansible:#?}\ndr: {dr:#?}",
        differences.join("\n")
    );
    let show = |f: &[FileState]| {
        f.iter()
            .map(|(p, m, b)| format!("{p} {m:04o}\n{}", String::from_utf8_lossy(b)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(show(&dr_files), show(&ansible_files));
    assert_eq!(ansible_files, dr_files);
    let changed: Vec<bool> = dr.iter().map(|r| r["changed"] == true).collect();
    assert_eq!(
        changed,
        [true, false, true, true, true, false, true, false, true]
    );
    let shown = show(&dr_files);
    assert!(shown.contains("kept.list 0640"), "{shown}");
    assert!(!shown.contains("custom.list"), "{shown}");
    assert!(
        shown.contains(
            "# the machine's list\ndeb http://old.example.invalid/debian bookworm main\n"
        ),
        "{shown}"
    );
}

const DEB822_PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - deb822_repository:
        name: dr-test-deb822 Example_Repo
        types: [deb, deb-src]
        uris: http://deb.example.invalid/debian
        suites: bookworm
        components: [main, contrib]
        architectures: amd64
        enabled: false
        check_valid_until: false
        signed_by: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----

          mQINBGexample
          -----END PGP PUBLIC KEY BLOCK-----
      register: r01
    - command: cat /etc/apt/sources.list.d/dr-test-deb822-example-repo.sources
      register: c01
    - stat: {path: /etc/apt/sources.list.d/dr-test-deb822-example-repo.sources}
      register: s01
    - deb822_repository:
        name: dr-test-deb822 Example_Repo
        types: [deb, deb-src]
        uris: http://deb.example.invalid/debian
        suites: bookworm
        components: [main, contrib]
        architectures: amd64
        enabled: false
        check_valid_until: false
        signed_by: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----

          mQINBGexample
          -----END PGP PUBLIC KEY BLOCK-----
      register: r02
    - deb822_repository:
        name: dr-test-deb822 Example_Repo
        types: [deb, deb-src]
        uris: http://deb.example.invalid/debian
        suites: bookworm
        components: [main, contrib]
        architectures: amd64
        enabled: false
        check_valid_until: false
        signed_by: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----

          mQINBGexample
          -----END PGP PUBLIC KEY BLOCK-----
        mode: "0600"
      register: r03
    - stat: {path: /etc/apt/sources.list.d/dr-test-deb822-example-repo.sources}
      register: s02
    - deb822_repository: {name: dr-test-deb822 Example_Repo, state: absent}
      register: r04
    - deb822_repository: {name: dr-test-deb822 Example_Repo, state: absent}
      register: r05
    - copy:
        content: "{{ [r01, r02, r03, r04, r05, {'text': c01.stdout, 'mode1': s01.stat.mode, 'mode2': s02.stat.mode}] | to_json }}"
        dest: "{{ playbook_dir }}/{{ out }}"
"#;

fn run_deb822(tool: &str) -> Vec<Json> {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INVENTORY), ("site.yml", DEB822_PLAYBOOK)],
    );
    let args = ["-i", "inv.yml", "site.yml"];
    let out = if tool == "ansible" {
        util::ansible_playbook_out(dir.path(), &args);
        "ansible.json"
    } else {
        util::dr_apply_out(dir.path(), &args);
        "dr.json"
    };
    let text = std::fs::read_to_string(dir.path().join(out)).unwrap();
    match serde_json::from_str(&text) {
        Ok(Json::Array(items)) => items,
        other => panic!("{out}: not a list: {other:?}"),
    }
}

#[test]
fn deb822_repository_writes_what_ansibles_writes() {
    util::assert_fresh_agent();
    let dest = Path::new("/etc/apt/sources.list.d/dr-test-deb822-example-repo.sources");
    let _ = std::fs::remove_file(dest);
    let ansible = run_deb822("ansible");
    let dr = run_deb822("dr");
    let _ = std::fs::remove_file(dest);
    let differences = util::result_differences(
        &ansible,
        &dr,
        &["invocation", "diff", "warnings"],
        &["diff"],
    );
    assert!(
        differences.is_empty(),
        "dr's deb822_repository differs from ansible's:\n{}\nansible: {ansible:#?}\ndr: {dr:#?}",
        differences.join("\n")
    );
    let changed: Vec<bool> = dr[..5].iter().map(|r| r["changed"] == true).collect();
    assert_eq!(changed, [true, false, true, true, false]);
    assert_eq!(dr[5]["mode1"], "0644");
    assert_eq!(dr[5]["mode2"], "0600");
    assert!(
        dr[5]["text"].as_str().is_some_and(
            |t| t.contains("Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n")
        ),
        "{}",
        dr[5]["text"]
    );
}

const KEY: &str =
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGexample\n-----END PGP PUBLIC KEY BLOCK-----\n";

/// An HTTP server on 127.0.0.1 answering every request with [`KEY`]; its base URL.
fn key_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{KEY}",
                KEY.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    base
}

const SIGNED_BY_URL_PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - deb822_repository: &repo
        name: dr-test-deb822-key
        uris: http://deb.example.invalid/debian
        suites: bookworm
        components: main
        enabled: false
        signed_by: "{{ key_url }}"
      check_mode: true
      register: r01
    - stat: {path: /etc/apt/keyrings/dr-test-deb822-key.asc}
      register: s01
    - deb822_repository: *repo
      register: r02
    - deb822_repository: *repo
      register: r03
    - command: cat /etc/apt/sources.list.d/dr-test-deb822-key.sources
      register: c01
    - stat: {path: /etc/apt/keyrings/dr-test-deb822-key.asc}
      register: s02
    - deb822_repository: {name: dr-test-deb822-key, state: absent}
      register: r04
    - copy:
        content: "{{ [r01, r02, r03, r04, {'text': c01.stdout, 'before': s01.stat.exists, 'mode': s02.stat.mode}] | to_json }}"
        dest: "{{ playbook_dir }}/{{ out }}"
"#;

#[test]
fn deb822_repository_fetches_a_signed_by_url_as_ansible_does() {
    // As popular roles install Docker's repository (`signed_by: https://.../gpg`): the key
    // is fetched and kept under /etc/apt/keyrings; dr refused the URL.
    util::assert_fresh_agent();
    let gone = || {
        let _ = std::fs::remove_file("/etc/apt/sources.list.d/dr-test-deb822-key.sources");
        let _ = std::fs::remove_file("/etc/apt/keyrings/dr-test-deb822-key.asc");
    };
    let url = format!("key_url={}/gpg", key_server());
    let run = |tool: &str| {
        gone();
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[("inv.yml", INVENTORY), ("site.yml", SIGNED_BY_URL_PLAYBOOK)],
        );
        let args = ["-i", "inv.yml", "site.yml", "-e", url.as_str()];
        let out = if tool == "ansible" {
            util::ansible_playbook_out(dir.path(), &args);
            "ansible.json"
        } else {
            util::dr_apply_out(dir.path(), &args);
            "dr.json"
        };
        let text = std::fs::read_to_string(dir.path().join(out)).unwrap();
        match serde_json::from_str(&text) {
            Ok(Json::Array(items)) => items,
            other => panic!("{out}: not a list: {other:?}"),
        }
    };
    let ansible = run("ansible");
    let dr = run("dr");
    gone();
    let differences = util::result_differences(
        &ansible,
        &dr,
        &["invocation", "diff", "warnings"],
        &["diff"],
    );
    assert!(
        differences.is_empty(),
        "dr's deb822_repository differs from ansible's:\n{}\nansible: {ansible:#?}\ndr: {dr:#?}",
        differences.join("\n")
    );
    let changed: Vec<bool> = dr[..4].iter().map(|r| r["changed"] == true).collect();
    assert_eq!(changed, [true, true, false, true]);
    assert_eq!(dr[4]["before"], false, "check mode wrote the key");
    assert_eq!(dr[4]["mode"], "0644");
    assert!(
        dr[4]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Signed-By: /etc/apt/keyrings/dr-test-deb822-key.asc")),
        "{}",
        dr[4]["text"]
    );
}
