//! Roles, blocks, includes and handlers against the oracle: the same playbook
//! (`fixtures/structure/site.yml`) run by ansible-playbook and by dr must leave the same
//! per-host logs (every step appends a line) and the same rendered role template.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;
use std::process::Command;

use util::{Dr, ansible_bin, repo_root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("controller/tests/fixtures/structure"),
        dir.path(),
    );
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name))
        .unwrap_or_else(|e| panic!("cannot read {name} in {}: {e}", dir.display()))
}

#[test]
fn roles_blocks_includes_and_handlers_run_as_ansible_runs_them() {
    let ansible = fixture();
    let out_arg = format!("out={}", ansible.path().join("out").display());
    let run = Command::new(ansible_bin().join("ansible-playbook"))
        .args(["-i", "inventory.yml", "site.yml", "-e", &out_arg])
        .current_dir(ansible.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env_remove("ANSIBLE_ROLES_PATH")
        .output()
        .expect("ansible-playbook runs");
    assert!(
        run.status.success(),
        "ansible-playbook failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let dr = fixture();
    let out_arg = format!("out={}", dr.path().join("out").display());
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "-e", &out_arg],
    )
    .run()
    .code(0);

    for host in ["h1", "h2"] {
        let log = format!("log-{host}");
        assert_eq!(
            read(dr.path(), &log),
            read(ansible.path(), &log),
            "dr's steps on {host} differ from ansible-playbook's"
        );
        let conf = format!("app-{host}.conf");
        assert_eq!(read(dr.path(), &conf), read(ansible.path(), &conf));
    }
    // The fixture must exercise what it claims to: a rescue, both loop items' skip and
    // run, role defaults below inventory, the handler chain.
    let h1 = read(ansible.path(), "log-h1");
    for line in [
        "rescue 1",
        "looped b ip",
        "extra none x",
        "named -",
        "named named",
        "included included-from-vars",
        "bag 1 2",
        "handler chained",
        "fact from-fact",
    ] {
        assert!(h1.contains(line), "fixture lost `{line}`:\n{h1}");
    }
    assert!(read(ansible.path(), "app-h2.conf").contains("port=9090"));
}
