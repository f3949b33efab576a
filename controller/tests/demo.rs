//! The built-in demo, tried as a new user would: plan, apply, apply again, plan again, a
//! hand edit, and the drill report.

mod util;

use util::{Dr, copy_examples, snapshot};

const PASSWORD: &str = "s3cret-demo-pass";

#[test]
fn demo_plan_apply_converge_and_drift() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    copy_examples(cwd);
    let demo = ["playbooks/demo.yml", "-i", "inventory/local.yml"];
    let args = |cmd: &str, extra: &[&str]| -> Vec<String> {
        let mut v = vec![cmd.to_owned()];
        v.extend(demo.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |cmd: &str, extra: &[&str]| {
        let a = args(cmd, extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        Dr::new(cwd, &refs).run()
    };

    // A first plan shows every diff, changes nothing, exits 2.
    let plan = run("plan", &[]);
    plan.code(2)
        .stdout_has("would change")
        .stdout_has("+DATABASE_URL=postgres://app:********@akira-db-01:5432/akira")
        .stdout_lacks(PASSWORD);
    assert!(!cwd.join("demo-root").exists(), "plan created files");

    // Apply changes everything; the handler runs once.
    let apply = run("apply", &[]);
    apply
        .code(0)
        .stdout_lacks(PASSWORD)
        .stdout_has("Applied: 5 change(s).");
    let env = std::fs::read_to_string(cwd.join("demo-root/opt/akira/.env")).unwrap();
    assert_eq!(
        env,
        format!("DATABASE_URL=postgres://app:{PASSWORD}@akira-db-01:5432/akira\nAPP_ENV=demo\n")
    );
    let restarts = std::fs::read_to_string(cwd.join("demo-root/opt/akira/restarts.log")).unwrap();
    assert_eq!(restarts.lines().count(), 1);

    // Apply again: zero changes, handler not run.
    run("apply", &[])
        .code(0)
        .stdout_has("Applied: 0 change(s).");
    assert_eq!(
        std::fs::read_to_string(cwd.join("demo-root/opt/akira/restarts.log"))
            .unwrap()
            .lines()
            .count(),
        1
    );

    // A plan on the converged host exits 0 and touches nothing.
    let before = snapshot(&cwd.join("demo-root"));
    run("plan", &[]).code(0).stdout_has("No changes.");
    assert_eq!(
        before,
        snapshot(&cwd.join("demo-root")),
        "plan changed bytes or mtimes"
    );

    // Drift: DATABASE_URL edited by hand. The plan shows that one line, masked, exits 2.
    let env_path = cwd.join("demo-root/opt/akira/.env");
    std::fs::write(&env_path, env.replace("akira-db-01", "akira-db-09")).unwrap();
    let drift = run("plan", &[]);
    drift
        .code(2)
        .stdout_has("-DATABASE_URL=postgres://app:********@akira-db-09:5432/akira")
        .stdout_has("+DATABASE_URL=postgres://app:********@akira-db-01:5432/akira")
        .stdout_lacks(PASSWORD)
        .stdout_lacks("+APP_ENV")
        .stdout_lacks("-APP_ENV");
    assert!(
        std::fs::read_to_string(&env_path)
            .unwrap()
            .contains("akira-db-09"),
        "plan repaired the drift"
    );

    // JSON output is masked too.
    let json = run("plan", &["--format", "json"]);
    json.code(2).stdout_lacks(PASSWORD);
    assert_eq!(
        json.json()["changed"],
        2,
        "the DATABASE_URL line and the restart handler"
    );
}

#[test]
fn demo_journal_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    copy_examples(cwd);
    Dr::new(
        cwd,
        &["apply", "playbooks/demo.yml", "-i", "inventory/local.yml"],
    )
    .run()
    .code(0);
    let runs: Vec<_> = std::fs::read_dir(cwd.join(".dr/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one journal per run");
    let journal = std::fs::read_to_string(&runs[0]).unwrap();
    assert!(
        !journal.contains(PASSWORD),
        "the journal leaks the vault password"
    );
    let kinds: Vec<String> = journal
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("run_start"));
    assert_eq!(kinds.last().map(String::as_str), Some("run_end"));
    assert!(kinds.iter().filter(|k| *k == "task_end").count() >= 5);
    for line in journal.lines() {
        let at = serde_json::from_str::<serde_json::Value>(line).unwrap()["at"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            at.ends_with('Z') && at.len() == "2026-11-21T23:01:02.345Z".len(),
            "timestamp {at}"
        );
    }

    let report = Dr::new(cwd, &["report"]).run();
    report
        .code(0)
        .stdout_has("# Drill report: apply playbooks/demo.yml")
        .stdout_has("- Result: success")
        .stdout_has("(target 1m: ✅ met)")
        .stdout_has("| T+0.000s | run started |")
        .stdout_has("`demo app` started on `demo-mgmt-01`")
        .stdout_has("### Stages");
    // The report's times come from the journal: its total equals run_end - run_start.
    let json = Dr::new(cwd, &["report", "--format", "json"]).run();
    let doc = json.json();
    let first = serde_json::from_str::<serde_json::Value>(journal.lines().next().unwrap()).unwrap();
    let last = serde_json::from_str::<serde_json::Value>(journal.lines().last().unwrap()).unwrap();
    let parse = |v: &serde_json::Value| {
        time::OffsetDateTime::parse(
            v["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let expected = (parse(&last) - parse(&first)).whole_milliseconds() as u64;
    assert_eq!(doc["elapsed_ms"], expected);

    // The default report is the latest run, a plan too (it measures no RTO); the apply's
    // journal is still there by name.
    let apply = std::fs::read_dir(cwd.join(".dr/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    Dr::new(
        cwd,
        &["plan", "playbooks/demo.yml", "-i", "inventory/local.yml"],
    )
    .run()
    .code(0);
    Dr::new(cwd, &["report"])
        .run()
        .code(0)
        .stdout_has("# Drill report: plan playbooks/demo.yml")
        .stdout_has("(a plan changes nothing, so it measures no RTO)");
    Dr::new(cwd, &["report", apply.to_str().unwrap()])
        .run()
        .code(0)
        .stdout_has("# Drill report: apply playbooks/demo.yml");
}
