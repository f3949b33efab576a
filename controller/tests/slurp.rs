//! `slurp` against the oracle: ansible-playbook's `slurp` and dr's native one read the same
//! files (text, binary, empty; a path with a variable from `environment:`) and fail on the
//! same ones (missing, a directory) with the same results.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - slurp:
        src: "{{ files }}/{{ item }}"
      loop: [text, binary, empty, missing, dir]
      register: r
      ignore_errors: true
    - slurp:
        path: "{{ files }}/$DR_SLURP_NAME"
      environment:
        DR_SLURP_NAME: text
      register: env
    - copy:
        content: "{{ (r.results + [env]) | map('dict2items') | map('selectattr', 'key', 'in', keys) | map('items2dict') | list | to_json }}"
        dest: "{{ out }}"
      vars:
        keys: [content, encoding, source, failed, changed, msg]
"#;

fn results(dir: &std::path::Path, out: &str) -> Json {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn slurp_reads_and_fails_as_ansibles_slurp() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("files/text", "DATABASE_URL=postgres://db-02/akira\n"),
            ("files/empty", ""),
            ("files/dir/x", ""),
        ],
    );
    std::fs::write(dir.path().join("files/binary"), [0u8, 255, 10, 13, 128]).unwrap();
    let files_arg = format!("files={}", dir.path().join("files").display());
    util::ansible_playbook_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);
    util::dr_apply_out(dir.path(), &["-i", "inv.yml", "site.yml", "-e", &files_arg]);
    let ansible = results(dir.path(), "ansible.json");
    assert_eq!(
        results(dir.path(), "dr.json"),
        ansible,
        "dr's slurp differs from ansible's"
    );
    assert_eq!(ansible[1]["content"], "AP8KDYA=");
    assert_eq!(ansible[3]["failed"], true);
    assert_eq!(ansible[5]["source"], ansible[0]["source"]);
}
