//! Roles, blocks, includes and handlers against the oracle: the same playbook
//! (`fixtures/structure/site.yml`) run by ansible-playbook and by dr must leave the same
//! per-host logs (every step appends a line) and the same rendered role template.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::Dr;

fn fixture() -> tempfile::TempDir {
    util::fixture("structure")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name))
        .unwrap_or_else(|e| panic!("cannot read {name} in {}: {e}", dir.display()))
}

#[test]
fn roles_blocks_includes_and_handlers_run_as_ansible_runs_them() {
    let ansible = fixture();
    let out_arg = format!("out={}", ansible.path().join("out").display());
    util::ansible_playbook(
        ansible.path(),
        &["-i", "inventory.yml", "site.yml", "-e", &out_arg],
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
        "action form h1",
        "templated-vars-file second-alternative",
        "command expanded",
        "later play from-fact expanded",
        "handler chained",
        "fact from-fact",
    ] {
        assert!(h1.contains(line), "fixture lost `{line}`:\n{h1}");
    }
    assert!(read(ansible.path(), "app-h2.conf").contains("port=9090"));
}

/// Runs `fixtures/tags_check/site.yml` with ansible-playbook and with dr under the same
/// command line; returns both logs.
fn tags_check_logs(args: &[&str]) -> (String, String) {
    let run_one = |dr_side: bool| {
        let dir = util::fixture("tags_check");
        let out_arg = format!("out={}", dir.path().join("out").display());
        let mut all = vec!["site.yml", "-i", "inventory.yml", "-e", &out_arg];
        all.extend_from_slice(args);
        if dr_side {
            let mut dr_args = vec!["apply"];
            dr_args.extend(all);
            let run = Dr::new(dir.path(), &dr_args).run();
            let plan = args.contains(&"--check");
            run.code(if plan { 2 } else { 0 });
        } else {
            let run = util::ansible("ansible-playbook")
                .args(&all)
                .current_dir(dir.path())
                .output()
                .expect("ansible-playbook runs");
            assert!(
                run.status.success(),
                "ansible-playbook {args:?} failed:\n{}",
                String::from_utf8_lossy(&run.stdout)
            );
        }
        std::fs::read_to_string(dir.path().join("out/log")).unwrap_or_default()
    };
    (run_one(false), run_one(true))
}

#[test]
fn tags_check_mode_and_handlers_select_what_ansible_selects() {
    for args in [
        &[][..],
        &["--tags", "web"],
        &["--tags", "inc"],
        &["--tags", "imp,debugonly"],
        &["--skip-tags", "blk,web"],
        &["--tags", "webonly"],
        &["--check"],
        &["--check", "--tags", "blk"],
    ] {
        let (ansible, dr) = tags_check_logs(args);
        assert_eq!(dr, ansible, "dr and ansible-playbook differ with {args:?}");
    }
    // The fixture exercises what it claims: untagged role tasks, `never`, handlers, and
    // `ansible_check_mode` staying true under `--check` in a `check_mode: false` task.
    let (all, _) = tags_check_logs(&[]);
    for line in ["web handler", "play handler", "included tagged", "imported"] {
        assert!(all.contains(line), "fixture lost `{line}`:\n{all}");
    }
    let (check, _) = tags_check_logs(&["--check"]);
    assert!(check.contains("check True"), "{check}");
    assert!(!check.contains("play handler"), "{check}");
}
