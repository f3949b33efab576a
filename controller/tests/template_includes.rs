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
