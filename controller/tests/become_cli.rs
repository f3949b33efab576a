//! The run's escalation defaults, against the oracle (ansible-playbook 2.19 on the local
//! connection, as root): `-b`/`--become-user`, `ANSIBLE_BECOME`/`ANSIBLE_BECOME_USER` and
//! ansible.cfg's `[privilege_escalation] become`/`become_user` are what plays, blocks and
//! tasks fall back to where they write no `become` or `become_user`. dr had no `-b`, and
//! refused the ansible.cfg settings.
//!
//! Needs root (the agent switches to `nobody`) and ansible-core: `tests/run` has both.

mod util;

use std::os::unix::fs::PermissionsExt;

use util::Dr;

/// The fixture, readable by `nobody` (a temp dir is root's alone), with `cfg` as its
/// ansible.cfg when given.
fn fixture(cfg: Option<&str>) -> tempfile::TempDir {
    let dir = util::fixture("become_cli");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if let Some(cfg) = cfg {
        std::fs::write(dir.path().join("ansible.cfg"), cfg).unwrap();
    }
    dir
}

/// Runs the fixture with both tools (`args` after the playbook, `env` set for both) and
/// returns `out/who` after checking both wrote the same.
fn who(args: &[&str], env: &[(&str, &str)], cfg: Option<&str>) -> String {
    let ansible = fixture(cfg);
    let mut all = vec!["-i", "inventory.yml", "site.yml"];
    all.extend_from_slice(args);
    util::ansible_playbook_with(ansible.path(), &all, env);

    let dr = fixture(cfg);
    let mut all = vec!["apply", "site.yml", "-i", "inventory.yml", "--yes"];
    all.extend_from_slice(args);
    let mut run = Dr::new(dr.path(), &all);
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.run().code(0);
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    util::outputs(dr.path())["who"].clone()
}

/// Every play that does not turn it off runs as `nobody`; tasks and plays that name root
/// or turn it off do not.
const NOBODY_BY_DEFAULT: &str = "unsaid nobody\ntask_off root\nplay_off root\ntask_on nobody\n\
                                 play_user root\nplay_on nobody\ntask_user root\n";

#[test]
fn dash_b_with_a_become_user_is_the_default_of_every_play() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the agent switches to `nobody`"
    );
    assert_eq!(
        who(&["-b", "--become-user", "nobody"], &[], None),
        NOBODY_BY_DEFAULT
    );
}

#[test]
fn become_user_alone_names_who_become_true_escalates_to() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the agent switches to `nobody`"
    );
    assert_eq!(
        who(&["--become-user", "nobody"], &[], None),
        "unsaid root\ntask_off root\nplay_off root\ntask_on nobody\n\
         play_user root\nplay_on nobody\ntask_user root\n"
    );
}

#[test]
fn the_environment_and_ansible_cfg_set_the_same_defaults() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the agent switches to `nobody`"
    );
    let env = [
        ("ANSIBLE_BECOME", "true"),
        ("ANSIBLE_BECOME_USER", "nobody"),
    ];
    assert_eq!(who(&[], &env, None), NOBODY_BY_DEFAULT);
    let cfg = "[privilege_escalation]\nbecome = True\nbecome_user = nobody\n";
    assert_eq!(who(&[], &[], Some(cfg)), NOBODY_BY_DEFAULT);
}
