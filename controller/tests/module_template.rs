//! A module name written as the package manager fact's template
//! (`action: "{{ ansible_facts.pkg_mgr }}"`, as Ansible's own `user` and `group` targets
//! and many roles write it), against the oracle (ansible-playbook 2.19, local connection):
//! it runs as `apt` on this Debian host with `apt`'s result, its banner is the template as
//! written, and a host whose fact names another module fails the task when it runs. Any
//! other templated module name is refused where written.
//!
//! Needs root and ansible-core: `tests/run` has both.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - setup: {gather_subset: [pkg_mgr]}
    - action: \"{{ ansible_facts.pkg_mgr }}\"
      args: {name: coreutils, state: present}
      register: by_fact
    - action:
        module: \"{{ ansible_pkg_mgr }}\"
        name: coreutils
      check_mode: true
      register: by_variable
    - set_fact: {ansible_pkg_mgr: dnf}
    - action: \"{{ ansible_pkg_mgr }}\"
      args: {name: coreutils, state: present}
      register: elsewhere
      ignore_errors: true
    - copy:
        dest: \"{{ playbook_dir }}/{{ out }}\"
        content: \"{{ [by_fact, by_variable, {'failed': elsewhere is failed}] | to_nice_json }}\"
";

fn banners(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("TASK ["))
        .map(|l| l.trim_end_matches('*').trim_end().to_owned())
        .collect()
}

#[test]
fn the_package_manager_fact_names_apt_as_in_ansible() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", PLAYBOOK)]);
    let ansible = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml", "-e", "out=ansible.json"])
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    let ansible_out = String::from_utf8_lossy(&ansible.stdout).into_owned();
    assert!(ansible.status.success(), "{ansible_out}");

    let dr = Dr::new(
        dir.path(),
        &[
            "apply",
            "--format",
            "ansible",
            "-i",
            "inv.yml",
            "p.yml",
            "-e",
            "out=dr.json",
        ],
    )
    .run();
    dr.code(0).stdout_has(
        "the module name `{{ ansible_pkg_mgr }}` renders to `dnf` on this host; dr runs this task as `apt`",
    );
    assert_eq!(banners(&dr.stdout), banners(&ansible_out));
    assert!(
        banners(&dr.stdout).contains(&"TASK [{{ ansible_facts.pkg_mgr }}]".to_owned()),
        "{}",
        dr.stdout
    );
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap()
    };
    let (expected, got) = (read("ansible.json"), read("dr.json"));
    let differences = util::result_differences(
        expected.as_array().unwrap(),
        got.as_array().unwrap(),
        &[],
        &[],
    );
    assert!(differences.is_empty(), "{differences:#?}");
}

#[test]
fn any_other_templated_module_name_is_refused_where_written() {
    let dir = tempfile::tempdir().unwrap();
    let play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - action: \"{{ which }}\"\n      args: {msg: x}\n";
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", play)]);
    Dr::new(dir.path(), &["plan", "-i", "inv.yml", "p.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:4:15")
        .stderr_has("the module name `{{ which }}` is a template");
}
