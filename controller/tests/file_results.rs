//! `file`'s registered results against the oracle (ansible-playbook 2.19): `path` or
//! `dest`/`src`, the path's owner, group, mode, state and size afterwards, and in diff
//! mode Ansible's `diff` mapping (state, a link's old and new `src`, the mode a created
//! directory had before `mode` was applied), for links, directories, touch, absent,
//! attributes and hard links; a link refused as Ansible refuses it (a missing `src`
//! without `force`, a file or directory in the way); a link's `mode` set on its target; an
//! unknown owner warned about in check mode.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

#[test]
fn file_results_are_ansibles() {
    let dr = util::same_files_as_ansible("file_results", "site.yml", 0);
    let results = util::outputs(dr.path())["results"].clone();
    let numbered = results.lines().filter(|l| l.starts_with(char::is_numeric));
    assert_eq!(numbered.count(), 13, "{results}");
    assert!(
        results.contains(r#""path_content": {"directories": ["./w/d/e"], "files": ["./w/d/e/f"]}"#),
        "{results}"
    );
    let failures = util::outputs(dr.path())["failures"].clone();
    for line in [
        "True src file does not exist, use 'force=yes' if you really want to create the link: /nonexistent",
        "True refusing to convert from hard to symlink for ./w/hard.txt",
        "True src file does not exist, use 'force=yes' if you really want to create the link: ./w/empty/out.txt",
        "True True",
        "link mode True 0604",
        "check True failed to look up user no-such-user-here. Create user up to this point in real play",
    ] {
        assert!(
            failures.lines().any(|l| l == line),
            "no `{line}` in:\n{failures}"
        );
    }
}

#[test]
fn a_directory_for_an_owner_an_earlier_task_creates_plans_as_in_ansible() {
    // Check mode, as Ansible's: the owner does not exist yet (an earlier task of the play
    // would create it), so the new directory is a change with a warning, not a failure.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data");
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n",
            ),
            (
                "p.yml",
                &format!(
                    "- hosts: all\n  gather_facts: false\n  tasks:\n    - file:\n        path: {}\n        state: directory\n        owner: dr_no_such_user\n        mode: \"0700\"\n",
                    target.display()
                ),
            ),
        ],
    );
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml", "--check"])
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("changed=1") && text.contains("failed=0"),
        "{text}"
    );
    util::Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(2)
        .stdout_has(
            "failed to look up user dr_no_such_user. Create user up to this point in real play",
        );
    assert!(!target.exists());
}
