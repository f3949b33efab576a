//! `meta: end_role`, against the oracle (ansible-playbook 2.19): it skips the rest of its
//! role (an `always` inside it too) and nothing after the role; handlers it notified run;
//! it is refused in a handler and outside a role, in Ansible's words.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn end_role_skips_the_rest_of_its_role_only() {
    let dr = util::same_files_as_ansible("end_role", "site.yml", 0);
    let log = &util::outputs(dr.path())["log"];
    assert!(!log.contains("after end_role first"), "{log}");
    assert!(log.contains("after end_role again"), "{log}");
    assert!(log.contains("outer goes on\n"), "{log}");
    assert!(log.ends_with("play goes on\nhandler\n"), "{log}");
}

#[test]
fn end_role_is_refused_in_a_handler_and_outside_a_role() {
    for (playbook, words) in [
        ("handler.yml", "Cannot execute 'end_role' from a handler"),
        (
            "outside.yml",
            "Cannot execute 'end_role' from outside of a role",
        ),
    ] {
        let dir = util::fixture("end_role");
        util::Dr::new(
            dir.path(),
            &["apply", playbook, "-i", "inventory.yml", "--yes"],
        )
        .run()
        .code(1)
        .stderr_has(words);
        util::Dr::new(
            dir.path(),
            &[
                "apply",
                playbook,
                "-i",
                "inventory.yml",
                "--yes",
                "--format",
                "ansible",
            ],
        )
        .run()
        .code(1)
        .stderr_has(&format!("[ERROR]: {words}"));
        let ansible = util::ansible("ansible-playbook")
            .args(["-i", "inventory.yml", playbook])
            .current_dir(dir.path())
            .output()
            .expect("ansible-playbook runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&ansible.stdout),
            String::from_utf8_lossy(&ansible.stderr)
        );
        assert!(said.contains(&format!("[ERROR]: {words}")), "{said}");
    }
}
