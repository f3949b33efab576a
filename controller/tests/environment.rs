//! `environment:` as Ansible merges it, against the oracle: a template giving a whole
//! mapping (at play or task level), mappings and lists of them, each level's entries
//! overriding the enclosing level's.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, write_tree};

const PLAY: &str = r#"- hosts: all
  gather_facts: false
  vars:
    env: {A: play_template, B: play_template}
    more: {D: task_template}
  environment: "{{ env }}"
  tasks:
    - shell: echo "1 $A $B $C $D" >> {{ playbook_dir }}/out
      environment: {C: task, A: task}
    - block:
        - shell: echo "2 $A $B $C $D" >> {{ playbook_dir }}/out
          environment: "{{ more }}"
      environment: {B: block}
    - shell: echo "3 $A $B $C $D" >> {{ playbook_dir }}/out
      environment:
        - {C: list1}
        - "{{ more }}"
- hosts: all
  gather_facts: false
  tasks:
    - command: echo $PATH
      register: target_path
- hosts: all
  environment:
    PATH: '{{ ansible_env.PATH + ":/lola" }}'
    lola: ido
  tasks:
    - shell: echo "4 {{ target_path.stdout == ansible_env.PATH }} {{ '/lola' in ansible_env.PATH }} {{ ansible_env.lola }}" >> {{ playbook_dir }}/out
    - shell: echo "5 $PATH" | grep -c lola >> {{ playbook_dir }}/out
"#;

fn run(dr: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
            ),
            ("site.yml", PLAY),
        ],
    );
    if dr {
        Dr::new(dir.path(), &["apply", "site.yml", "-i", "inv.yml"])
            .run()
            .code(0);
    } else {
        util::ansible_playbook(dir.path(), &["site.yml", "-i", "inv.yml"]);
    }
    std::fs::read_to_string(dir.path().join("out")).unwrap_or_default()
}

#[test]
fn environment_templates_and_levels_merge_as_in_ansible() {
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    assert!(
        ansible.starts_with("1 task play_template task \n"),
        "{ansible}"
    );
    // Facts gathered with the play's environment: the entry that needs `ansible_env` is
    // left out while gathering, the others apply; later tasks get it.
    assert!(ansible.contains("4 True False ido\n1\n"), "{ansible}");
}
