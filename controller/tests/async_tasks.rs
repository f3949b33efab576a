//! `async:`/`poll:` on `command` and `shell`, `async_status`, and the `finished`/`started`
//! tests, against the oracle (ansible-playbook 2.19). dr refused `async` and `poll` at
//! parse time, had no `async_status`, and failed both tests.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::time::Duration;

use util::{Dr, write_tree};

/// The job files in a run's async directory (`ansible_async_dir`: `jobs/`).
fn job_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("jobs")).map_or(0, |d| d.count())
}

#[test]
fn async_results_are_ansibles() {
    util::assert_fresh_agent();
    let ansible = util::fixture("async_tasks");
    util::ansible_playbook(ansible.path(), &["-i", "inventory.yml", "site.yml"]);
    let dr = util::fixture("async_tasks");
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(0);
    let out = util::outputs(dr.path());
    // Whether Ansible's watchdog killed a job before its command wrote depends on how loaded
    // the machine is (seen: `never` written under a full test run); dr's side is checked below.
    let mut theirs = util::outputs(ansible.path());
    theirs.retain(|name, _| !name.starts_with("never"));
    // Ansible's last poll of the job past its limit (`async: 1`, `poll: 1`) races its own
    // watchdog, which records "Timeout exceeded" a second after killing the job: a poll
    // that reads the record first sees a finished job (seen under a full test run). That
    // job's results, and whether its job file is left, are then not comparable; dr's are
    // checked below.
    let watchdog_first = theirs["late.json"].contains("Timeout exceeded");
    let mut ours = out.clone();
    if watchdog_first {
        for late in ["late.json", "late_status.json"] {
            ours.remove(late);
            theirs.remove(late);
        }
    }
    assert_eq!(ours, theirs, "dr's results differ");
    // poll > 0: the module's result plus the job's keys.
    assert!(out["done.json"].contains("\"stdout\": \"hi\""), "{out:?}");
    assert!(out["done.json"].contains("\"finished\": true"), "{out:?}");
    // poll > 0 past the time limit: Ansible's failure.
    assert!(
        out["late.json"]
            .contains("\"msg\": \"async task did not complete within the requested time - 1s\""),
        "{out:?}"
    );
    // Ansible's last poll after its wrapper killed the job: the wrapper's record.
    assert!(
        out["killed.json"].contains("\"msg\": \"Timeout exceeded\""),
        "{out:?}"
    );
    // poll 0: started, not finished; `async_status` until finished gives the job's result.
    assert!(out["job.json"].contains("\"finished\": false"), "{out:?}");
    assert!(
        out["waited.json"].contains("\"stderr\": \"err\""),
        "{out:?}"
    );
    assert!(
        out["unknown.json"].contains("could not find job"),
        "{out:?}"
    );
    assert_eq!(
        out["shapes"],
        "jid 6\nfiles True\nsame True\npid True\nunknown True\nerased True\n\
         finished True True False False True True\n\
         started True True True True True\n"
    );
    // The job killed at its limit left Ansible's record; the cleaned-up one is gone.
    if !watchdog_first {
        assert_eq!(job_files(dr.path()), job_files(ansible.path()));
    }
    assert_eq!(job_files(dr.path()), 1);
    // Killed means killed: its command never gets to write.
    std::thread::sleep(Duration::from_secs(4));
    assert!(!dr.path().join("out/never").exists());
    assert!(!dr.path().join("out/never_either").exists());
}

#[test]
fn a_plan_starts_no_job() {
    util::assert_fresh_agent();
    let ansible = util::fixture("async_tasks");
    util::ansible_playbook(
        ansible.path(),
        &["--check", "-i", "inventory.yml", "plan.yml"],
    );
    let dr = util::fixture("async_tasks");
    Dr::new(dr.path(), &["plan", "plan.yml", "-i", "inventory.yml"])
        .run()
        .code(2)
        // As Ansible in check mode: the job is reported started, the polled command and
        // the job's status are skipped ("would have run").
        .stdout_has("job True False polled True status True True");
    std::thread::sleep(Duration::from_millis(1500));
    for marker in ["fired", "polled"] {
        assert!(!dr.path().join("out").join(marker).exists(), "{marker}");
        assert!(
            !ansible.path().join("out").join(marker).exists(),
            "{marker}"
        );
    }
    // Ansible writes a job file even in check mode; a plan writes nothing.
    assert_eq!(job_files(dr.path()), 0);
}

#[test]
fn async_is_refused_where_dr_does_not_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let inv = "all:\n  hosts:\n    h1: {ansible_connection: local}\n";
    let play = |tasks: &str| format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}");
    write_tree(
        dir.path(),
        &[
            ("inv.yml", inv),
            ("t.yml", "- command: \"true\"\n"),
            (
                "copy.yml",
                &play("    - copy: {content: x, dest: /tmp/x}\n      async: 10\n      poll: 0\n"),
            ),
            (
                "include.yml",
                &play("    - include_tasks: t.yml\n      async: 10\n"),
            ),
        ],
    );
    Dr::new(dir.path(), &["plan", "copy.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("`async` on module `copy` is not supported by dr")
        .stderr_has("copy.yml:5:7");
    Dr::new(dir.path(), &["plan", "include.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("`async` on `include_tasks` is not supported by dr")
        .stderr_has("include.yml:5:7");
}

/// `--format ansible` says `ASYNC OK` / `ASYNC FAILED` once a polled job ended, as
/// Ansible's default callback (dr does not poll, so it has no `ASYNC POLL` lines).
#[test]
fn the_ansible_format_reports_polled_jobs_as_ansible() {
    util::assert_fresh_agent();
    let async_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("ASYNC OK") || l.starts_with("ASYNC FAILED"))
            .map(|l| l.split("jid=").next().unwrap_or_default().to_owned())
            .collect()
    };
    let ansible = util::fixture("async_tasks");
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    let dr = util::fixture("async_tasks");
    let run = Dr::new(
        dr.path(),
        &[
            "apply",
            "site.yml",
            "-i",
            "inventory.yml",
            "--yes",
            "--format",
            "ansible",
        ],
    )
    .run();
    run.code(0);
    let theirs = async_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        theirs,
        [
            "ASYNC OK on h1: ",
            "ASYNC FAILED on h1: ",
            "ASYNC FAILED on h1: ",
            "ASYNC FAILED on h1: "
        ]
    );
    assert_eq!(async_lines(&run.stdout), theirs);
}
