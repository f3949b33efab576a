//! Warnings given by tests while a task runs, against the oracle (ansible-playbook 2.19):
//! `started`/`finished` on a result that is not async's warn, and the warning is in the
//! task's registered result, once; a loop's result gathers its items' warnings.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn a_tests_warning_is_in_the_tasks_result() {
    let dr = util::same_files_as_ansible("template_warnings", "site.yml", 0);
    let log = util::outputs(dr.path())["log"].clone();
    assert!(
        log.starts_with(r#"["The 'finished' test expects an async task, but a non-async task was tested", "The 'started'"#),
        "{log}"
    );
}

/// A result's warnings are printed as ansible-playbook prints them (`[WARNING]: ...` on
/// stderr, each text once per run) under `--format ansible`, and under each task's line in
/// dr's own output; a copy into a missing directory fails with Ansible's words.
#[test]
fn warnings_are_printed_as_ansible_prints_them() {
    let dir = util::fixture("template_warnings");
    std::fs::remove_dir_all(dir.path().join("out")).expect("out/ removed");
    let warning_lines = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("[WARNING]"))
            .map(str::to_owned)
            .collect()
    };
    let ansible = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    let ansible_stdout = String::from_utf8_lossy(&ansible.stdout).into_owned();
    let dr = util::Dr::new(
        dir.path(),
        &[
            "apply",
            "--format",
            "ansible",
            "-i",
            "inventory.yml",
            "site.yml",
        ],
    )
    .run();
    let expected = warning_lines(&String::from_utf8_lossy(&ansible.stderr));
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(warning_lines(&dr.stderr), expected, "{}", dr.stderr);
    let failure = "Destination directory out does not exist";
    assert!(ansible_stdout.contains(failure), "{ansible_stdout}");
    dr.code(1).stdout_has(failure);

    // As `ansible-playbook --check`, a plan reports the copy (its directory may come from
    // an earlier task) instead of failing it.
    util::Dr::new(dir.path(), &["plan", "-i", "inventory.yml", "site.yml"])
        .run()
        .code(2)
        .stdout_lacks(failure);

    let own = util::Dr::new(dir.path(), &["apply", "-i", "inventory.yml", "site.yml"]).run();
    own.code(1);
    let lines: Vec<&str> = own.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("h1  assert ("))
        .expect("the assert's line");
    assert!(
        lines[at + 1].starts_with("      warning: The 'finished' test expects an async task"),
        "{}",
        own.stdout
    );
}
