//! Who sees a role's defaults and vars, against the oracle (ansible-playbook 2.19): an
//! imported role (`roles:`, `import_role`) shares them with the whole play, an included one
//! keeps them to its own tasks unless `public` (then the tasks after it see them), `public`
//! wins both ways, and ANSIBLE_PRIVATE_ROLE_VARS changes the default of both.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

fn run_both(env: &[(&str, &str)]) -> (String, String) {
    let ansible = util::fixture("role_privacy");
    let mut cmd = util::ansible("ansible-playbook");
    cmd.args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dr = util::fixture("role_privacy");
    let mut run = util::Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    );
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.run().code(0);
    (
        util::outputs(dr.path())["log"].clone(),
        util::outputs(ansible.path())["log"].clone(),
    )
}

#[test]
fn imported_roles_share_their_vars_and_included_ones_only_when_public() {
    let (dr, ansible) = run_both(&[]);
    assert_eq!(dr, ansible);
    assert!(dr.starts_with("before - -\n"), "{dr}");
    assert!(dr.contains("after include - -\n"), "{dr}");
    assert!(dr.contains("after public include role vars\n"), "{dr}");
    assert!(dr.contains("play 2 - -\n"), "{dr}");
    assert!(dr.contains("play 3 role vars role default\n"), "{dr}");
}

#[test]
fn private_role_vars_makes_imported_roles_keep_theirs() {
    let (dr, ansible) = run_both(&[("ANSIBLE_PRIVATE_ROLE_VARS", "1")]);
    assert_eq!(dr, ansible);
    assert!(dr.contains("play 3 - -\n"), "{dr}");
}
