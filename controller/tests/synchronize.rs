//! `ansible.posix.synchronize` where rsync runs on the host itself (the local connection,
//! and `delegate_to` the host, as a role that moves PostgreSQL's WAL directory does), run
//! with the collection's own module through the bridge, against the oracle
//! (ansible-playbook 2.19 with the same collection): the same files with the same owners
//! (the become user's, delegated), the same results (rsync's itemized changes), nothing
//! changed the second time, check mode and `delete` as in Ansible. dr refused the module
//! ("Ansible runs it with an action plugin on the controller").
//!
//! Needs root, rsync, ansible-core and the ansible.posix collection: `tests/run` installs
//! them (the collection under the directory DR_TEST_ANSIBLE_COLLECTIONS names).

mod util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use util::Dr;

fn collections() -> String {
    std::env::var("DR_TEST_ANSIBLE_COLLECTIONS").unwrap_or_else(|_| {
        panic!("DR_TEST_ANSIBLE_COLLECTIONS is not set: run the suite with `tests/run`, which unpacks ansible.posix and sets it")
    })
}

/// The fixture, with `out/` writable by `nobody` (a temp dir is root's alone).
fn fixture() -> tempfile::TempDir {
    let dir = util::fixture("synchronize");
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(dir.path(), 0o755).unwrap();
    open(&dir.path().join("out"), 0o777).unwrap();
    dir
}

/// Every path under `out/` with its owner's uid and, for a file, its text.
fn tree(root: &Path) -> Vec<(String, u32, String)> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, u32, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                out.push((format!("{name}/"), meta.uid(), String::new()));
                walk(&e.path(), &format!("{name}/"), out);
            } else {
                let text = std::fs::read_to_string(e.path()).unwrap();
                out.push((name, meta.uid(), text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("out"), "", &mut out);
    out.sort();
    out
}

fn dr(dir: &Path, args: &[&str]) -> util::Run {
    Dr::new(dir, args)
        .env("PATH", &util::path_with_ansible())
        .env("ANSIBLE_COLLECTIONS_PATH", &collections())
        .env("XDG_CACHE_HOME", &dir.join("cache").display().to_string())
        .run()
}

#[test]
fn synchronize_on_the_host_matches_ansible() {
    assert!(
        util::pg::is_root(),
        "this test needs root: a task runs as `nobody`"
    );
    let ansible = fixture();
    util::ansible_playbook_with(
        ansible.path(),
        &["-i", "inventory.yml", "site.yml"],
        &[("ANSIBLE_COLLECTIONS_PATH", &collections())],
    );

    let mine = fixture();
    dr(
        mine.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .code(0);
    assert_eq!(tree(mine.path()), tree(ansible.path()));
    let results = std::fs::read_to_string(mine.path().join("out/results")).unwrap();
    for line in [
        "first changed=True rc=0",
        "again changed=False",
        "checked changed=True itemized=['.d..t...... ./', '*deleting   extra.txt']",
        "nobody changed=True",
    ] {
        assert!(
            results.lines().any(|l| l == line),
            "no `{line}` in:\n{results}"
        );
    }
    let nobody = tree(mine.path())
        .into_iter()
        .find(|(p, ..)| p == "nobody/sub/b.txt")
        .map(|(_, uid, _)| uid);
    assert_eq!(nobody, Some(65534));
}

#[test]
fn a_relative_path_is_refused_when_the_playbook_is_read() {
    // Ansible takes it from `files/` on the controller; dr runs rsync on the host.
    let dir = fixture();
    std::fs::write(
        dir.path().join("p.yml"),
        "- hosts: h1\n  gather_facts: false\n  tasks:\n    - synchronize: {src: tree/, dest: /tmp/x/}\n      delegate_to: \"{{ inventory_hostname }}\"\n",
    )
    .unwrap();
    dr(dir.path(), &["plan", "p.yml", "-i", "inventory.yml"])
        .code(1)
        .stderr_has("p.yml:4:7")
        .stderr_has("synchronize: the relative `src` `tree/` is a path on the controller");
}
