//! `include_role`/`import_role` with `tasks_from`/`vars_from`, against the oracle
//! (ansible-playbook 2.19): templated file names load what they render to for each host and
//! loop item, and a name that leads outside the role's directory is refused in Ansible's
//! words.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn templated_files_of_an_included_role_load_what_they_render_to() {
    let dr = util::same_files_as_ansible("role_files_from", "site.yml", 0);
    assert_eq!(
        util::outputs(dr.path())["log"],
        "blue -\nblue navy\ngreen lime\n"
    );
}

#[test]
fn a_file_outside_the_role_is_refused_as_ansible_refuses_it() {
    for playbook in ["outside_include.yml", "outside_import.yml"] {
        let dir = util::fixture("role_files_from");
        let out = util::Dr::new(
            dir.path(),
            &["apply", playbook, "-i", "inventory.yml", "--yes"],
        )
        .run();
        out.code(1);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("for role (r) as it is not inside the expected role path"),
            "{playbook}: {text}"
        );
        assert!(
            util::outputs(dir.path()).is_empty(),
            "{playbook}: nothing ran"
        );
        let ansible = util::ansible("ansible-playbook")
            .args(["-i", "inventory.yml", playbook])
            .current_dir(dir.path())
            .output()
            .expect("ansible-playbook runs");
        assert!(
            String::from_utf8_lossy(&ansible.stdout).contains("not inside the expected role path")
                || String::from_utf8_lossy(&ansible.stderr)
                    .contains("not inside the expected role path"),
            "the oracle refuses {playbook} too"
        );
    }
}
