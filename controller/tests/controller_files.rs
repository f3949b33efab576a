//! Controller files a play ships (`copy: src=`, `template: src=`) against the oracle: a
//! `src` looped over a variable is found for every item, and a template sees where it
//! lives (`template_host`, `template_uid`), as ansible-playbook gives them.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, write_tree};

const PLAY: &str = r#"- hosts: all
  gather_facts: false
  vars:
    names: [a.txt, b.txt]
    templates: [t.j2]
  tasks:
    - copy: {src: "{{ item }}", dest: "{{ playbook_dir }}/out/copy-{{ item }}"}
      loop: "{{ names }}"
    - template: {src: "{{ item }}", dest: "{{ playbook_dir }}/out/{{ item }}.txt"}
      loop: "{{ templates }}"
"#;

fn run(dr: bool) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
            ),
            ("site.yml", PLAY),
            ("files/a.txt", "a\n"),
            ("files/b.txt", "b\n"),
            (
                "templates/t.j2",
                "host={{ template_host }} uid={{ template_uid }}\n",
            ),
        ],
    );
    std::fs::create_dir(dir.path().join("out")).unwrap();
    if dr {
        Dr::new(dir.path(), &["apply", "site.yml", "-i", "inv.yml"])
            .run()
            .code(0);
    } else {
        util::ansible_playbook(dir.path(), &["site.yml", "-i", "inv.yml"]);
    }
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn sources_looped_over_a_variable_and_template_vars_match_ansible() {
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    let names: Vec<&str> = ansible.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["copy-a.txt", "copy-b.txt", "t.j2.txt"]);
    assert!(ansible[2].1.starts_with("host="), "{:?}", ansible[2]);
    assert!(!ansible[2].1.starts_with("host= "), "{:?}", ansible[2]);
}
