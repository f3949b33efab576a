//! `get_url` of `file://` URLs against the oracle (as ansible-core's `get_url` target starts):
//! a download of a local file, the second run (no change), a missing file (urllib's error),
//! a checksum file given as `file://`, check mode, and SHA-3 checksums (hashlib's
//! `sha3_256`, as the target's hashlib.yml), one matching, one not. Results must be Ansible's, `status_code`
//! (null: urllib gives a file no status) included.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  vars:
    tmp_re: 'for \S+ did'
  tasks:
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/a.txt"}
      register: r1
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/a.txt"}
      register: r2
    - get_url: {url: "file://{{ src }}/missing.txt", dest: "{{ work }}/m.txt"}
      register: r3
      ignore_errors: true
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/b.txt",
                checksum: "sha256:file://{{ src }}/SHA256SUMS"}
      register: r4
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/c.txt"}
      check_mode: true
      register: r5
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/d.txt",
                checksum: "sha3_256:09234807e4af85f17c66b48ee3bca89dffd1f1233659f9f940a2b17b0b8c6bc5"}
      register: r6
    - get_url: {url: "file://{{ src }}/file.txt", dest: "{{ work }}/e.txt", checksum: "sha3_512:{{ '0' * 128 }}"}
      register: r7
      ignore_errors: true
    - copy:
        content: "{{ [r1, r2, r3, r4, r5, r6, r7 | combine({'msg': r7.msg | regex_replace(tmp_re, 'for TMP did')})]
                     | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &Path, out: &str, work: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    let text = text.replace(&work.display().to_string(), "WORK");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn get_url_reads_file_urls_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("src/file.txt", "foobar"),
            (
                "src/SHA256SUMS",
                "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2  file.txt\n",
            ),
            ("work-ansible/.keep", ""),
            ("work-dr/.keep", ""),
        ],
    );
    let src = format!("src={}", dir.path().join("src").display());
    let args = |work: &str| {
        let w = format!("work={}", dir.path().join(work).display());
        ["-i", "inv.yml", "site.yml", "-e", &src, "-e", &w].map(str::to_owned)
    };
    let a = args("work-ansible");
    util::ansible_playbook_out(dir.path(), &a.each_ref().map(String::as_str));
    let d = args("work-dr");
    util::dr_apply_out(dir.path(), &d.each_ref().map(String::as_str));
    let ansible = results(dir.path(), "ansible.json", &dir.path().join("work-ansible"));
    let dr = results(dir.path(), "dr.json", &dir.path().join("work-dr"));
    let differences =
        util::result_differences(&ansible, &dr, &["elapsed", "invocation", "src"], &[]);
    assert!(
        differences.is_empty(),
        "dr's get_url differs from ansible's:\n{}\nansible: {}\ndr: {}",
        differences.join("\n"),
        serde_json::to_string_pretty(&ansible).unwrap_or_default(),
        serde_json::to_string_pretty(&dr).unwrap_or_default()
    );
    assert_eq!(ansible[0]["changed"], true);
    assert_eq!(ansible[1]["changed"], false);
    assert_eq!(ansible[2]["failed"], true);
    assert_eq!(ansible[3]["changed"], true);
    assert_eq!(ansible[5]["changed"], true);
    assert_eq!(ansible[6]["failed"], true);
}
