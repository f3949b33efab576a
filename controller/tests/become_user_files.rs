//! `become_user` on a file module (`file`, `copy`, `template`, `lineinfile`, `stat`...)
//! against the oracle (ansible-playbook 2.19, `become_user: nobody` through sudo): the files
//! belong to that user, a directory only root may write refuses it with "Permission
//! denied", the owner and group dr leaves are Ansible's; a plan creates nothing, and a
//! second apply changes nothing.
//!
//! Needs root (the agent switches users) and ansible-core: `tests/run` has both.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use util::Dr;

/// The fixture in a directory `nobody` may enter (a temp dir is root's alone).
fn fixture() -> tempfile::TempDir {
    let dir = util::fixture("become_user_files");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn apply(dir: &Path) -> util::Run {
    Dr::new(dir, &["apply", "site.yml", "-i", "inventory.yml", "--yes"]).run()
}

#[test]
fn file_modules_run_as_the_become_user_as_in_ansible() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the agent switches to `nobody`"
    );
    let ansible = fixture();
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let dr = fixture();
    Dr::new(dr.path(), &["plan", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(2);
    assert!(
        !dr.path().join("work").exists(),
        "a plan created files as `nobody`"
    );
    apply(dr.path()).code(0);
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    let log = util::outputs(dr.path())["log"].clone();
    for line in [
        "touched nobody nogroup 0644",
        "copied nobody nogroup 0644",
        "templated nobody nogroup 0644",
        "lines nobody nogroup 0644",
        "denied True True",
        "stat True -",
    ] {
        assert!(log.lines().any(|l| l == line), "no `{line}` in:\n{log}");
    }
    apply(dr.path()).code(0).stdout_has("Applied: 0 change(s).");
}
