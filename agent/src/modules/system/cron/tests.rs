use serde_json::json;

use super::Cron;
use super::table::Table;
use crate::modules::testutil::{Harness, snapshot};

fn converge(h: &Harness, root: &std::path::Path, args: serde_json::Value) {
    let before = snapshot(root);
    let plan = h.check(&Cron, args.clone());
    assert_eq!(snapshot(root), before, "check mode changed the disk");
    assert!(plan.outcome.changed, "expected a change");
    assert!(h.apply(&Cron, args.clone()).changed);
    let again = h.check(&Cron, args);
    assert!(
        !again.outcome.changed,
        "not idempotent: {:?}",
        again.outcome.diffs
    );
}

#[test]
fn a_job_in_a_cron_file_is_added_updated_and_removed_with_its_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("backup");
    let f = file.display().to_string();
    let h = Harness::new();
    let job = json!({"name": "nightly dump", "cron_file": f, "user": "postgres",
                     "minute": 5, "hour": "2", "job": "pg_dumpall > /backup/all.sql"});
    converge(&h, dir.path(), job.clone());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "#Ansible: nightly dump\n5 2 * * * postgres pg_dumpall > /backup/all.sql\n"
    );
    let env = json!({"name": "PGHOST", "env": true, "job": "/run/postgresql",
                     "cron_file": f, "user": "postgres"});
    converge(&h, dir.path(), env);
    let mut moved = job.clone();
    moved["hour"] = json!("3");
    moved["disabled"] = json!(true);
    converge(&h, dir.path(), moved);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "PGHOST=\"/run/postgresql\"\n#Ansible: nightly dump\n#5 3 * * * postgres pg_dumpall > /backup/all.sql\n"
    );
    let plan = h.check(
        &Cron,
        json!({"name": "nightly dump", "cron_file": f, "state": "absent"}),
    );
    assert_eq!(plan.outcome.data["jobs"], json!([]));
    assert_eq!(plan.outcome.data["envs"], json!(["PGHOST"]));
    // The last job gone and nothing but blank lines left: the file goes.
    std::fs::write(&file, "#Ansible: x\n@daily root true\n\n").unwrap_or_else(|e| panic!("{e}"));
    converge(
        &h,
        dir.path(),
        json!({"name": "x", "cron_file": f, "state": "absent"}),
    );
    assert!(!file.exists());
}

#[test]
fn an_identical_unnamed_line_is_adopted_and_arguments_are_checked() {
    let mut t = Table::parse("@reboot /bin/true\n");
    let found = t.find_job("boot", Some("@reboot /bin/true"));
    assert_eq!(found.len(), 3);
    assert_eq!(t.render(), "#Ansible: boot\n@reboot /bin/true\n");
    let h = Harness::new();
    let err = h.check_err(
        &Cron,
        json!({"name": "x", "cron_file": "/tmp/x", "job": "true"}),
    );
    assert!(err.contains("you must specify user"), "{err}");
    let err = h.check_err(
        &Cron,
        json!({"name": "x", "special_time": "daily", "minute": "1",
                                         "job": "true", "cron_file": "/tmp/x", "user": "root"}),
    );
    assert!(err.contains("cannot combine special_time"), "{err}");
    let err = h.check_err(
        &Cron,
        json!({"name": "x", "cron_file": "/etc/crontab", "user": "root", "job": "true"}),
    );
    assert!(err.contains("Will not manage /etc/crontab"), "{err}");
}
