//! `fetch` against the oracle (ansible-playbook 2.19): the same playbook leaves the same
//! files and registers the same results; a second run changes nothing; a plan fetches
//! nothing.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, outputs, same_files_as_ansible};

#[test]
fn fetch_writes_what_ansible_writes_once_and_plans_nothing() {
    let dr = same_files_as_ansible("fetch", "site.yml", 0);
    let out = outputs(dr.path());
    assert_eq!(out["remote.conf"], "k=v\n");
    assert_eq!(out["renamed.conf"], "k=v\n");
    assert!(out["results"].starts_with("True "), "{}", out["results"]);
    let tree = dr
        .path()
        .join("tree/h1")
        .join(dr.path().join("remote.conf").strip_prefix("/").unwrap());
    assert_eq!(std::fs::read_to_string(tree).unwrap(), "k=v\n");
    // Idempotent: nothing changes the second time (the results file aside, which records
    // the first run's `changed`).
    Dr::new(dr.path(), &["apply", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(0)
        .stdout_has("Applied: 1 change(s).");
    let plan_dir = util::fixture("fetch");
    // A plan skips `fetch` (as Ansible's check mode): the last task then reads results a
    // skipped fetch does not have, and fails, as with `ansible-playbook --check`.
    Dr::new(
        plan_dir.path(),
        &["plan", "site.yml", "-i", "inventory.yml"],
    )
    .run()
    .code(1)
    .stdout_has("skipped        h1  fetch");
    assert!(
        outputs(plan_dir.path()).is_empty(),
        "the plan fetched files"
    );
}

#[test]
fn fetch_fails_in_ansibles_words_and_normalizes_a_relative_src() {
    assert!(
        util::pg::is_root(),
        "this test needs root: a task reads as `nobody`"
    );
    let dr = same_files_as_ansible("fetch_failures", "site.yml", 0);
    let results = &outputs(dr.path())["results"];
    for msg in [
        "True False src and dest are required",
        "True False Invalid type supplied for source option, it must be a string",
        "True False dest is an existing directory, use a trailing slash",
        "True False calculated dest '/calc/secret.conf' is an existing directory",
        "True False File is not readable: /secret.conf",
        "False False -",
        // tree/h1/../<the playbook's directory>/secret.conf
        "/tree/PB/secret.conf",
    ] {
        assert!(results.contains(msg), "{msg:?} not in:\n{results}");
    }
}

#[test]
fn under_become_fetch_reads_with_the_plays_own_slurp() {
    // The play's `slurp` runs through the bridge.
    let out = util::same_files_as_ansible_bridged("fetch_library_slurp");
    assert_eq!(out["escalated.txt"], "slurped\n");
    assert_eq!(out["plain.txt"], "on disk\n");
    assert_eq!(
        out["results"],
        "True /out/escalated.txt\nTrue /out/plain.txt\n"
    );
}
