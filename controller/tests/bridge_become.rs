//! A module dr runs with Ansible's own code (the bridge) as the become user, against the
//! oracle (ansible-playbook 2.19 on the local connection, as root through sudo): the file
//! the module writes belongs to that user, a second run changes nothing, check mode writes
//! nothing, and the registered results agree. dr refused such a task ("cannot run as
//! another user than the play's").
//!
//! Needs root (the module's process runs as `nobody`) and ansible-core: `tests/run` has both.

mod util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use util::Dr;

/// The fixture, with `out/` writable by `nobody` (a temp dir is root's alone).
fn fixture() -> tempfile::TempDir {
    let dir = util::fixture("bridge_become");
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(dir.path(), 0o755).unwrap();
    open(&dir.path().join("out"), 0o777).unwrap();
    dir
}

fn owner(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().uid()
}

#[test]
fn a_bridged_module_runs_as_the_become_user_as_in_ansible() {
    assert!(
        util::pg::is_root(),
        "this test needs root: the module runs as `nobody`"
    );
    let ansible = fixture();
    util::ansible_playbook(ansible.path(), &["-i", "inventory.yml", "site.yml"]);

    let dr = fixture();
    let run = |args: &[&str]| {
        Dr::new(dr.path(), args)
            .env("PATH", &util::path_with_ansible())
            .env(
                "XDG_CACHE_HOME",
                &dr.path().join("cache").display().to_string(),
            )
            .run()
    };
    run(&["apply", "site.yml", "-i", "inventory.yml", "--yes"]).code(0);
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    let nobody = owner(&ansible.path().join("out/known_hosts"));
    assert_ne!(nobody, 0, "ansible-playbook wrote the file as root");
    assert_eq!(owner(&dr.path().join("out/known_hosts")), nobody);
    assert_eq!(
        util::outputs(dr.path())["results"],
        "first changed=True\nagain changed=False\nchecked changed=True\nnobody's shell=/usr/sbin/nologin\n"
    );
    // The entry is there: a plan of the same play finds nothing to add (exit 2: the
    // check-mode entry and the results file would change).
    run(&["plan", "site.yml", "-i", "inventory.yml"])
        .code(2)
        .stdout_has("ok             h1  a new entry, as nobody");
}
