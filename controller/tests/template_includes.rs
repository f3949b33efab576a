//! Templates that include, import and extend other templates, for the `template` module and
//! the `template` lookup, and Ansible's trailing newlines, against the oracle:
//! ansible-playbook and dr must write the same files (`fixtures/template_includes`).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn included_imported_and_extended_templates_render_as_in_ansible() {
    let dr = util::same_files_as_ansible("template_includes", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert!(
        out["site.conf"].contains("server b:5432;") && out["site.conf"].contains("footer 2"),
        "{}",
        out["site.conf"]
    );
    assert_eq!(out["child.txt"], "base top\nchild body 5432base bottom\n");
    assert!(
        out["page.txt"].contains("the page's own part"),
        "{}",
        out["page.txt"]
    );
    assert_eq!(out["looped-b.txt"], "item b\n");
    // An include inside a macro sees the template's import and set, as in Jinja2.
    assert_eq!(
        out["macro-include.txt"],
        "hello I'm test variable 5432\n[hello I'm test variable 5432]\n"
    );
    // Was "ssh-ed25519 AAAA\n\n": the template's own newline kept as well as the value's.
    assert_eq!(out["key.txt"], "ssh-ed25519 AAAA\n");
    assert_eq!(out["key-content.txt"], "ssh-ed25519 AAAA\n");
    // Was "one registered" twice: the lookup's answer was kept for the first item.
    assert_eq!(
        out["lookups"],
        "one registered\ntwo registered\nHello there! True\ndict bar list str\n"
    );
}

#[test]
fn a_template_named_only_while_rendering_fails_naming_it() {
    let dir = util::fixture("template_includes");
    std::fs::write(
        dir.path().join("templates/dynamic.j2"),
        "{% include which %}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dynamic.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - template:\n        src: dynamic.j2\n        dest: \"{{ playbook_dir }}/out/d.txt\"\n      vars: {which: item.j2}\n",
    )
    .unwrap();
    util::Dr::new(
        dir.path(),
        &["apply", "dynamic.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(1)
    .stdout_has("item.j2");
    assert!(!dir.path().join("out/d.txt").exists());
}

/// What Ansible says of a variable that is undefined inside a template it includes or
/// imports, or that the `template` lookup renders, and of an item a list lacks: the
/// playbook asserts the messages, and passes under both.
#[test]
fn undefined_in_nested_templates_is_named_as_in_ansible() {
    let dir = util::fixture("template_includes");
    for (name, text) in [
        ("templates/direct.j2", "{{ nope_var }}\n"),
        ("templates/inc_direct.j2", "{% include 'direct.j2' %}\n"),
        (
            "templates/imp_direct.j2",
            "{% import 'direct.j2' as t %}\n{{ t }}\n",
        ),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let playbook = r#"- hosts: all
  gather_facts: false
  vars:
    empty: []
    first: "{{ empty[0] }}"
  tasks:
    - debug: {msg: "{{ lookup('template', item) }}"}
      loop: [direct.j2, inc_direct.j2, imp_direct.j2]
      register: lookups
      ignore_errors: true
    - template: {src: inc_direct.j2, dest: "{{ playbook_dir }}/out/never.txt"}
      register: module
      ignore_errors: true
    - debug: {msg: "{{ first }}"}
      register: element
      ignore_errors: true
    - assert:
        that:
          - lookups.results | map(attribute='msg') | select('contains', "'nope_var' is undefined") | length == 3
          - module.msg is contains "'nope_var' is undefined"
          - element.msg is contains "object has no element 0"
"#;
    std::fs::write(dir.path().join("nested.yml"), playbook).unwrap();
    util::ansible_playbook(dir.path(), &["-i", "inventory.yml", "nested.yml"]);
    util::Dr::new(
        dir.path(),
        &["apply", "nested.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(0);
}
