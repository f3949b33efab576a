//! Python lookup plugins (`lookup_plugins/` beside the playbook and in a role) run on the
//! controller with the installed ansible-core, against the oracle: ansible-playbook and dr must
//! write the same log (`fixtures/python_lookup`).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::Dr;

#[test]
fn python_lookup_plugins_give_what_ansible_gives() {
    let out = util::same_files_as_ansible_bridged("python_lookup");
    assert_eq!(
        out["log"], "ABC,DE\na+1,hello\n2 x\n2 y\n\n",
        "the role's plugin, options and variables, a query per item, an ignored failure"
    );
}

#[test]
fn a_failing_plugin_fails_the_task_with_its_message() {
    let dir = util::fixture("python_lookup");
    std::fs::write(
        dir.path().join("fail.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ lookup('joined', 'boom') }}\"\n",
    )
    .unwrap();
    Dr::new(
        dir.path(),
        &["apply", "fail.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &util::path_with_ansible())
    .run()
    .code(1)
    .stdout_has("boom was asked for");
}

#[test]
fn a_lookup_neither_dr_nor_a_lookup_plugins_directory_has_is_refused_before_the_run() {
    let dir = util::fixture("python_lookup");
    std::fs::write(
        dir.path().join("unknown.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ lookup('nowhere', 'x') }}\"\n",
    )
    .unwrap();
    Dr::new(
        dir.path(),
        &["apply", "unknown.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(1)
    .stderr_has("lookup plugin `nowhere` is not supported by dr");
}

#[test]
fn ansible_cores_own_lookups_dr_lacks_run_with_ansible_core() {
    let play = "- hosts: all\n  gather_facts: false\n  vars:\n    xx_one: 1\n  tasks:\n    - shell: echo \"{{ lookup('config', 'DEFAULT_PRIVATE_ROLE_VARS') }} {{ lookup('ansible.builtin.varnames', '^xx_') }} {{ 'xx_one' in vars }} {{ vars['xx_one'] }}\" > {{ playbook_dir }}/out/log\n";
    let ansible = util::fixture("python_lookup");
    std::fs::write(ansible.path().join("core.yml"), play).unwrap();
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "core.yml"])
        .env("ANSIBLE_PRIVATE_ROLE_VARS", "1")
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dr = util::fixture("python_lookup");
    std::fs::write(dr.path().join("core.yml"), play).unwrap();
    Dr::new(
        dr.path(),
        &["apply", "core.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &util::path_with_ansible())
    .env("ANSIBLE_PRIVATE_ROLE_VARS", "1")
    .run()
    .code(0);
    let log = util::outputs(dr.path())["log"].clone();
    assert_eq!(log, util::outputs(ansible.path())["log"]);
    assert_eq!(log, "True xx_one True 1\n");
}

/// A Python lookup is given the variables where it is used: the same call in two tasks with
/// different variables (task vars, a fact set during the play) gives two answers, never the
/// first one again; `with_<plugin>` loops over a Python plugin; Python's regular
/// expressions (look-around, backreferences) work in filters and tests.
#[test]
fn each_use_of_a_python_lookup_sees_its_own_variables() {
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: echo "{{ lookup('varnames', '^zz_') }} {{ lookup('joined', 'v') }}" >> {{ playbook_dir }}/out/log
      vars:
        zz_a: 1
        greeting: first
    - shell: echo "{{ lookup('varnames', '^zz_') }} {{ lookup('joined', 'v') }}" >> {{ playbook_dir }}/out/log
      vars:
        zz_b: 1
        greeting: second
    - set_fact:
        zz_c: 1
        greeting: fact
    - shell: echo "{{ lookup('varnames', '^zz_') }} {{ lookup('joined', 'v') }}" >> {{ playbook_dir }}/out/log
    - shell: echo "{{ item }}" >> {{ playbook_dir }}/out/log
      with_joined: [p, q]
    - shell: echo "{{ item }}" >> {{ playbook_dir }}/out/log
      with_random_choice: [only]
    - assert:
        that:
          - "'ab' is search('a(?=b)')"
          - "'price 42' | regex_replace('(?<=price )[0-9]+', 'N') == 'price N'"
          - "'xx' is match('(x)\\\\1')"
          - "'a1b2' | regex_findall('[a-z](?=[0-9])') == ['a', 'b']"
"#;
    let ansible = util::fixture("python_lookup");
    std::fs::write(ansible.path().join("vars.yml"), play).unwrap();
    util::ansible_playbook(ansible.path(), &["-i", "inventory.yml", "vars.yml"]);
    let dr = util::fixture("python_lookup");
    std::fs::write(dr.path().join("vars.yml"), play).unwrap();
    Dr::new(
        dr.path(),
        &["apply", "vars.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &util::path_with_ansible())
    .run()
    .code(0);
    let log = util::outputs(dr.path())["log"].clone();
    assert_eq!(log, util::outputs(ansible.path())["log"]);
    assert_eq!(
        log,
        "zz_a v,first\nzz_b v,second\nzz_c v,fact\np-q\nfact\nonly\n"
    );
}

/// A term that is undefined: a plugin that takes undefined values (`accept_args_markers`)
/// is called with Ansible's marker for it, any other is not called and the lookup's value
/// is undefined (so `default` replaces it); in a conditional too.
#[test]
fn undefined_terms_reach_only_plugins_that_take_them() {
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: echo "{{ lookup('as_given', '{{ nope }}', 42)[1] }} {{ lookup('joined', '{{ nope }}') | default('d') }}" >> {{ playbook_dir }}/out/log
    - assert:
        that: lookup('as_given', '{{ nope }}', 42)[1] == 42
    - shell: echo "{{ lookup('as_given', '{{ nope }}', 42)[0] | default('undefined') }}" >> {{ playbook_dir }}/out/log
"#;
    let ansible = util::fixture("python_lookup");
    std::fs::write(ansible.path().join("undefined.yml"), play).unwrap();
    util::ansible_playbook(ansible.path(), &["-i", "inventory.yml", "undefined.yml"]);
    let dr = util::fixture("python_lookup");
    std::fs::write(dr.path().join("undefined.yml"), play).unwrap();
    Dr::new(
        dr.path(),
        &["apply", "undefined.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &util::path_with_ansible())
    .run()
    .code(0);
    let log = util::outputs(dr.path())["log"].clone();
    assert_eq!(log, util::outputs(ansible.path())["log"]);
    assert_eq!(log, "42 d\nundefined\n");
}
