//! Modules in a playbook's or role's `library/` run through the bridge, as Ansible adds
//! those directories to its module path; the registered results match ansible-playbook's.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, write_tree};

const MODULE: &str = r#"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(word=dict(type="str", required=True)),
                           supports_check_mode=True)
    module.exit_json(changed=False, echoed=module.params["word"].upper(), origin=ORIGIN)


ORIGIN = "ORIGIN_VALUE"

if __name__ == "__main__":
    main()
"#;

const PLAY: &str = r#"- hosts: all
  gather_facts: false
  roles:
    - greeter
  tasks:
    - shout: {word: play}
      register: r
    - copy:
        dest: "{{ playbook_dir }}/out-play"
        content: "{{ r.echoed }} {{ r.origin }} {{ r.changed }}\n"
"#;

/// Applies `site.yml` in `dir` with dr (ansible-core found on `PATH`, an agent cache of
/// its own) or with ansible-playbook.
fn apply(dir: &std::path::Path, dr: bool) {
    if dr {
        Dr::new(dir, &["apply", "site.yml", "-i", "inv.yml"])
            .env("PATH", &util::path_with_ansible())
            .env("XDG_CACHE_HOME", &dir.join("cache").display().to_string())
            .run()
            .code(0);
    } else {
        util::ansible_playbook(dir, &["site.yml", "-i", "inv.yml"]);
    }
}

fn run(dr: bool) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
            ),
            ("site.yml", PLAY),
            (
                "library/shout.py",
                &MODULE.replace("ORIGIN_VALUE", "playbook"),
            ),
            (
                "roles/greeter/library/whisper.py",
                &MODULE.replace("ORIGIN_VALUE", "role"),
            ),
            (
                "roles/greeter/tasks/main.yml",
                "- whisper: {word: role}\n  register: w\n- copy:\n    dest: \"{{ playbook_dir }}/out-role\"\n    content: \"{{ w.echoed }} {{ w.origin }}\\n\"\n",
            ),
        ],
    );
    apply(dir.path(), dr);
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
    (read("out-play"), read("out-role"))
}

#[test]
fn library_modules_of_playbooks_and_roles_run_as_in_ansible() {
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    assert_eq!(
        ansible,
        ("PLAY playbook False\n".into(), "ROLE role\n".into())
    );
}

/// An old-style module: its arguments in the file its first argument names, as key=value
/// pairs (`shlex` quoting), or as JSON when its source says WANT_JSON.
const OLD_STYLE: &str = r#"#!/usr/bin/python
import json, shlex, sys
text = open(sys.argv[1]).read()
STYLE
print(json.dumps(dict(changed=True, word=args["word"], internal=sorted(k for k in args if k.startswith("_ansible_check")))))
"#;

#[test]
fn old_style_library_modules_take_their_arguments_from_a_file() {
    let run = |dr: bool| {
        let dir = tempfile::tempdir().unwrap();
        let kv = "args = dict(p.split('=', 1) for p in shlex.split(text))";
        let json = "# WANT_JSON\nargs = json.loads(text)";
        write_tree(
            dir.path(),
            &[
                (
                    "inv.yml",
                    "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
                ),
                ("library/kv.py", &OLD_STYLE.replace("STYLE", kv)),
                ("library/js.py", &OLD_STYLE.replace("STYLE", json)),
                (
                    "site.yml",
                    "- hosts: all\n  gather_facts: false\n  tasks:\n    - kv: {word: \"two words\"}\n      register: a\n    - js: {word: [1, 2]}\n      register: b\n    - copy:\n        dest: \"{{ playbook_dir }}/out\"\n        content: \"{{ a.word }} {{ a.internal }} {{ a.changed }} / {{ b.word }} {{ b.internal }}\\n\"\n",
                ),
            ],
        );
        apply(dir.path(), dr);
        std::fs::read_to_string(dir.path().join("out")).unwrap_or_default()
    };
    let ansible = run(false);
    assert_eq!(run(true), ansible);
    assert_eq!(
        ansible,
        "two words ['_ansible_check_mode'] True / [1, 2] ['_ansible_check_mode']\n"
    );
}
