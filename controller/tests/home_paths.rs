//! `copy` and `template` with `dest` under `$HOME`, against the oracle (ansible-playbook
//! 2.19): expanded as Ansible's `type='path'` argument is, on the host. (`~` is the login
//! user's home for Ansible, root's here: not written to by a test.)

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: \"a\\n\", dest: $HOME/a.txt}
    - template: {src: t.j2, dest: \"${HOME}/b.txt\"}
";

fn run(with_dr: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("p.yml", PLAYBOOK),
            ("t.j2", "b {{ 1 + 1 }}\n"),
        ],
    );
    let home_str = home.display().to_string();
    if with_dr {
        Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
            .env("HOME", &home_str)
            .run()
            .code(0);
    } else {
        util::ansible_playbook_with(
            dir.path(),
            &["-i", "inv.yml", "p.yml"],
            &[("HOME", &home_str)],
        );
    }
    ["a.txt", "b.txt"]
        .iter()
        .map(|f| std::fs::read_to_string(home.join(f)).unwrap_or_else(|_| format!("{f} missing")))
        .collect()
}

#[test]
fn a_dest_under_home_is_expanded_as_in_ansible() {
    let ansible = run(false);
    assert_eq!(ansible, ["a\n", "b 2\n"], "ansible-playbook");
    assert_eq!(run(true), ansible);
}
