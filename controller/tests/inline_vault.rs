//! Inline `!vault` values the run cannot open, and the `vault`/`unvault` filters, against
//! the oracle (ansible-playbook 2.19): a play holding a value sealed with another password
//! runs, and fails only the tasks that use it (directly or inside what holds it), naming
//! the variable; `vault` with a salt seals byte for byte as Ansible does, `unvault` opens.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn an_inline_vault_value_the_run_cannot_open_fails_only_where_it_is_used() {
    let dr = util::same_files_as_ansible("inline_vault", "site.yml", 0);
    let out = util::outputs(dr.path());
    assert_eq!(out["used"], "True True True hi mom");
    assert!(
        out["sealed"].starts_with("sealed: $ANSIBLE_VAULT;1.2;AES256;filter_default\n"),
        "{}",
        out["sealed"]
    );
    assert!(
        out["opened"].ends_with("|foo: bar|plain"),
        "{}",
        out["opened"]
    );

    // dr's own output names the variable and says why it could not be opened; what
    // `unvault` opened is masked.
    std::fs::create_dir_all(dr.path().join("out")).unwrap();
    let run = util::Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes", "-v"],
    )
    .run();
    run.code(0)
        .stdout_has("Attempt to use undecryptable variable `elsewhere`")
        .stdout_has("no vault key")
        .stdout_lacks("not for this run")
        .stdout_lacks("foo: bar");
}
