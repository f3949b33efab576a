//! Patterns only a backtracking engine runs (backreferences, lookarounds) in `lineinfile`
//! and `replace`, against the oracle (ansible-playbook 2.19, Python's `re`): the files dr
//! writes must be Ansible's byte for byte, with as many tasks changed; a second apply
//! changes nothing; `dr plan` first touches nothing.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

/// `lineinfile` tasks; the first is the task of Ansible's own `lineinfile` target.
const LINEINFILE_TASKS: &str = r#"
    - name: backrefs with a backreference in regexp (Ansible's lineinfile target)
      lineinfile:
        path: "{{ playbook_dir }}/work/l1.txt"
        regexp: '^(REF) .* \1$'
        line: This is line 3
        backrefs: true
    - name: a backreference without backrefs replaces the last match
      lineinfile:
        path: "{{ playbook_dir }}/work/l2.txt"
        regexp: '^(REF) .* \1$'
        line: REF replaced REF
    - name: backrefs with a named backreference and group names in line
      lineinfile:
        path: "{{ playbook_dir }}/work/l3.txt"
        regexp: '^(?P<key>\w+)=(?P=key)$'
        line: '\g<key> is itself (\g<0>, \1)'
        backrefs: true
    - name: absent with a negative lookahead
      lineinfile:
        path: "{{ playbook_dir }}/work/l3.txt"
        regexp: '^#(?!keep)'
        state: absent
    - name: no match for regexp, inserted after a backreference anchor
      lineinfile:
        path: "{{ playbook_dir }}/work/l4.txt"
        regexp: '^(y)=\1$'
        line: y=y
        insertafter: '^\[(\w+)\] # \1$'
"#;

const LINEINFILE_FILES: &[(&str, &str)] = &[
    (
        "work/l1.txt",
        "This is line 1\nThis is line 2\nREF this is a line for backrefs REF\nThis is line 4\n",
    ),
    (
        "work/l2.txt",
        "REF one REX\nREF two REF\nREF three REF\nend\n",
    ),
    (
        "work/l3.txt",
        "a=b\nself=self\n#drop me\n#keep me\n# drop too\n",
    ),
    ("work/l4.txt", "[other] # main\n[main] # main\nx=1\n"),
];

/// `replace` tasks, over one file.
const REPLACE_TASKS: &str = r#"
    - name: a lookahead uncomments the listen lines
      replace:
        path: "{{ playbook_dir }}/work/r1.txt"
        regexp: '^#\s*(?=listen)'
        replace: ''
    - name: a backreference finds doubled words
      replace:
        path: "{{ playbook_dir }}/work/r1.txt"
        regexp: '\b(\w+) \1\b'
        replace: '\g<1>'
    - name: lookbehind, named backreference and lookahead together
      replace:
        path: "{{ playbook_dir }}/work/r1.txt"
        regexp: '(?<=")(?P<w>\w+)-(?P=w)(?=")'
        replace: '\g<w>'
    - name: a lookahead in after narrows the section
      replace:
        path: "{{ playbook_dir }}/work/r1.txt"
        after: '\[b\](?=\n)'
        regexp: '^k=(\d)$'
        replace: 'k=\1\1'
"#;

const REPLACE_FILES: &[(&str, &str)] = &[(
    "work/r1.txt",
    "# listen = 1\n#listen=2\n# port = 3\nthe the cat sat sat\nname=\"web-web\" other=\"db-x\"\n[a]\nk=1\n[b]\nk=1\n",
)];

/// A directory holding the inventory, a playbook running `tasks` on h1, and `files`.
fn project(tasks: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let site = format!("- hosts: all\n  gather_facts: false\n  tasks:{tasks}");
    write_tree(
        dir.path(),
        &[("inventory.yml", INVENTORY), ("site.yml", &site)],
    );
    write_tree(dir.path(), files);
    dir
}

/// Every file under `dir/work`, by name, as bytes.
fn work_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("work"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The `changed=N` of a recap line in `out` (ansible-playbook's and dr's say it alike).
fn changed_count(out: &str) -> Option<String> {
    out.lines()
        .filter(|l| l.contains("ok=") && l.contains("changed="))
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("changed=")))
        .map(str::to_owned)
}

/// Runs `tasks` over `files` with ansible-playbook, then with dr (plan, apply, apply
/// again, plan again) and compares.
fn same_as_ansible(tasks: &str, files: &[(&str, &str)]) {
    let ansible = project(tasks, files);
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    let ansible_out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{ansible_out}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dr = project(tasks, files);
    let before = util::snapshot(&dr.path().join("work"));
    Dr::new(dr.path(), &["plan", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(2);
    assert_eq!(
        util::snapshot(&dr.path().join("work")),
        before,
        "`dr plan` touched the files"
    );

    let apply = Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .run();
    apply.code(0);
    assert_eq!(
        work_files(dr.path()),
        work_files(ansible.path()),
        "dr's files differ from Ansible's"
    );
    let ansible_changed = changed_count(&ansible_out);
    assert!(ansible_changed.is_some(), "no recap in:\n{ansible_out}");
    assert_eq!(
        changed_count(&apply.stdout),
        ansible_changed,
        "{}",
        apply.stdout
    );

    let written = work_files(dr.path());
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(0)
    .stdout_has("changed=0");
    assert_eq!(work_files(dr.path()), written);
    Dr::new(dr.path(), &["plan", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(0);
}

#[test]
fn lineinfile_with_backreferences_and_lookarounds_writes_what_ansible_writes() {
    same_as_ansible(LINEINFILE_TASKS, LINEINFILE_FILES);
}

#[test]
fn replace_with_lookarounds_and_backreferences_writes_what_ansible_writes() {
    same_as_ansible(REPLACE_TASKS, REPLACE_FILES);
}
