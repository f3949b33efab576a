//! `dr report` in its three shapes, from journals written by real `dr apply` and `dr plan`
//! runs on small local playbooks: the drill report (Setup, Scenario, Timeline, Metrics,
//! Findings, Actions), `--history` (every run, a trend) and `--format prometheus`
//! (textfile-collector metrics, checked with the `prometheus_client` parser that
//! `tests/run` installs into the test venv).

mod util;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n";

/// A restore drill: a slow step, a step that succeeds on its second attempt, the recovery
/// point reached; fails at its end when `fail` is true.
const RESTORE: &str = r#"- rto_target: 1m
  rpo_target: 1h

- name: restore
  hosts: all
  gather_facts: false
  tasks:
    - name: slow step
      command: sleep 1.2
    - name: retried step
      shell: "echo x >> '{{ playbook_dir }}/attempts'; test $(wc -l < '{{ playbook_dir }}/attempts') -ge 2"
      register: r
      until: r.rc == 0
      retries: 3
      delay: 0
    - name: the recovery point reached
      recovery_point:
        restored_to: "2026-11-29T10:00:00Z"
        incident_time: "{{ incident_time }}"
    - name: the restored rows are counted
      command: "true"
      changed_when: false
      failed_when: fail | default(false) | bool
"#;

/// A drill that misses its RTO target, records no RPO and fails.
const MISSED: &str = r#"- rto_target: 1s
  rpo_target: 5m

- name: too slow
  hosts: all
  gather_facts: false
  tasks:
    - name: wait
      command: sleep 1.1
    - name: check
      command: "false"
"#;

const BACKUP: &str = "- name: nightly dump\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: dump\n      command: date\n";

const INCIDENT: &str = "incident_time=2026-11-29T10:15:00Z";

fn apply(cwd: &Path, args: &[&str], code: i32) {
    let mut all = vec!["apply", "-i", "inv.yml"];
    all.extend_from_slice(args);
    Dr::new(cwd, &all)
        .env("USER", "drill-operator")
        .run()
        .code(code);
}

/// The text between `## title` and the next `## ` heading.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let head = format!("\n## {title}\n");
    let start = md
        .find(&head)
        .unwrap_or_else(|| panic!("no `## {title}` in:\n{md}"))
        + head.len();
    let rest = &md[start..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn a_drill_report_has_setup_scenario_timeline_metrics_findings_and_actions() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[("inv.yml", INVENTORY), ("restore_test.yml", RESTORE)],
    );
    apply(
        cwd,
        &[
            "restore_test.yml",
            "--limit",
            "h1",
            "-e",
            INCIDENT,
            "-e",
            "db_password=hunter2-not-for-journals",
        ],
        0,
    );
    let text = Dr::new(cwd, &["report", "--slow", "1"]).run();
    text.code(0);
    let md = &text.stdout;
    // The sections, in the order teams file them.
    let order: Vec<usize> = [
        "## Setup",
        "## Scenario",
        "## Timeline",
        "## Metrics",
        "## Findings",
        "## Actions",
    ]
    .iter()
    .map(|h| md.find(h).unwrap_or_else(|| panic!("no {h}:\n{md}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{md}");
    assert!(md.starts_with("# Drill report: apply restore_test.yml\n\n- Result: success\n"));

    let setup = section(md, "Setup");
    for line in [
        "- Run by: `drill-operator` on `",
        &format!("- dr version: {}\n", env!("CARGO_PKG_VERSION")),
        "- Inventory: `inv.yml`\n",
        "- Limit: `h1`\n",
        "- Extra vars (names only): `incident_time`, `db_password`\n",
        "- Journal: `.dr/runs/",
        "- Started: 20",
        "- Finished: 20",
    ] {
        assert!(setup.contains(line), "Setup lacks {line:?}:\n{setup}");
    }
    // Names only: the value of an extra var reaches neither the journal nor the report.
    let journal_dir = cwd.join(".dr/runs");
    for entry in std::fs::read_dir(&journal_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert!(!md.contains("hunter2"), "{md}");

    let scenario = section(md, "Scenario");
    assert!(scenario.contains("- Playbooks: `restore_test.yml`\n- Mode: apply\n"));
    assert!(
        scenario.contains("\n### Stages\n") && scenario.contains("\n| 1 | restore | h1 | T+"),
        "{scenario}"
    );
    let timeline = section(md, "Timeline");
    assert!(
        timeline.contains("| T+0.000s | run started |"),
        "{timeline}"
    );
    assert!(
        timeline.contains("`h1` · retried step: changed"),
        "{timeline}"
    );

    let metrics = section(md, "Metrics");
    assert!(
        metrics.contains("- Measured RTO: ") && metrics.contains(" (target 1m: ✅ met)\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "- Measured RPO: 15m00s (data restored to 2026-11-29T10:00:00Z, lost at 2026-11-29T10:15:00Z; target 1h: ✅ met)"
        ),
        "{metrics}"
    );

    let findings = section(md, "Findings");
    for part in [
        "### Failures\n\nNone.\n",
        "### Targets\n\nNone missed.\n",
        "### Retries\n\n- `h1` · retried step: changed after 2 attempts\n\n",
        "### Tasks that took 1.0 s or more\n\n- `h1` · slow step: 1.",
        "### Waits of 1.0 s or more at sync points\n\nNone.\n",
    ] {
        assert!(
            findings.contains(part),
            "Findings lack {part:?}:\n{findings}"
        );
    }
    // Only the slow step is slow.
    assert_eq!(findings.matches("s (changed)").count(), 1, "{findings}");

    let actions = section(md, "Actions");
    for item in [
        "- [ ] Look into the retries of `h1` · retried step (changed after 2 attempts)\n",
        "- [ ] Shorten `h1` · slow step (1.",
        "- [ ] Give each action an owner and a due date\n",
        "- [ ] Schedule the next drill",
    ] {
        assert!(actions.contains(item), "Actions lack {item:?}:\n{actions}");
    }

    // `md` is the text format by another name; the default threshold is 10 s.
    let md_alias = Dr::new(cwd, &["report", "--format", "md", "--slow", "1"]).run();
    assert_eq!(md_alias.code(0).stdout, text.stdout);
    Dr::new(cwd, &["report"])
        .run()
        .code(0)
        .stdout_has("### Tasks that took 10.0 s or more\n\nNone.\n");

    let json = Dr::new(cwd, &["report", "--format", "json", "--slow", "1"]).run();
    let doc = json.code(0).json();
    assert_eq!(doc["user"], "drill-operator");
    assert_eq!(doc["dr_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["inventory"], serde_json::json!(["inv.yml"]));
    assert_eq!(doc["limit"], "h1");
    assert_eq!(
        doc["extra_vars"],
        serde_json::json!(["incident_time", "db_password"])
    );
    assert_eq!(doc["rto_met"], true);
    assert_eq!(doc["rpo_met"], true);
    let findings = &doc["findings"];
    assert_eq!(findings["retries"][0]["task"], "retried step", "{doc}");
    assert_eq!(findings["retries"][0]["attempts"], 2, "{doc}");
    assert_eq!(findings["slow_ms"], 1000);
    assert_eq!(findings["slow_tasks"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(findings["slow_tasks"][0]["task"], "slow step");
    assert!(findings["slow_tasks"][0]["duration_ms"].as_u64().unwrap() >= 1200);
    assert_eq!(findings["failures"], serde_json::json!([]));
    assert_eq!(doc["actions"].as_array().unwrap().len(), 2, "{doc}");
}

#[test]
fn a_failed_drill_that_missed_its_targets_says_so_and_derives_actions() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(cwd, &[("inv.yml", INVENTORY), ("missed.yml", MISSED)]);
    apply(cwd, &["missed.yml"], 1);
    let report = Dr::new(cwd, &["report"]).run();
    report.code(0).stdout_has("- Result: failed\n");
    let md = &report.stdout;
    assert!(
        section(md, "Metrics").contains(" (target 1s: ⚠️ MISSED)\n"),
        "{md}"
    );
    let findings = section(md, "Findings");
    assert!(
        findings.contains("### Failures\n\n- `too slow` on `h1`: failed: "),
        "{findings}"
    );
    assert!(
        findings.contains("### Targets\n\n- ⚠️ RTO 1."),
        "{findings}"
    );
    assert!(
        findings.contains(" missed the target 1s\n- ⚠️ RPO not recorded (target 5m): no `recovery_point` task reported\n"),
        "{findings}"
    );
    let actions = section(md, "Actions");
    assert!(
        actions.contains("- [ ] Fix `too slow` on `h1` (failed: "),
        "{actions}"
    );
    assert!(
        actions.contains("- [ ] Bring within target: RTO 1."),
        "{actions}"
    );
    assert!(
        actions.contains("- [ ] Bring within target: RPO not recorded (target 5m)"),
        "{actions}"
    );
    let doc = Dr::new(cwd, &["report", "--format", "json"]).run().json();
    assert_eq!(doc["rto_met"], false);
    assert_eq!(doc["findings"]["failures"][0]["outcome"], "failed");
    assert_eq!(doc["findings"]["targets"].as_array().unwrap().len(), 2);
}

/// Applies and plans that make a journal directory: two restore drills (the later one
/// failed), a plan between them, a nightly backup, a drill whose name needs escaping, and
/// two files that are not journals.
fn journal_directory(cwd: &Path) {
    write_tree(
        cwd,
        &[
            ("inv.yml", INVENTORY),
            ("restore_test.yml", RESTORE),
            ("backup_dump.yml", BACKUP),
            ("drill \"quoted\" \\n name.yml", BACKUP),
        ],
    );
    apply(cwd, &["restore_test.yml", "-e", INCIDENT], 0);
    Dr::new(
        cwd,
        &["plan", "-i", "inv.yml", "restore_test.yml", "-e", INCIDENT],
    )
    .run()
    .code(2);
    apply(cwd, &["backup_dump.yml"], 0);
    apply(cwd, &["drill \"quoted\" \\n name.yml"], 0);
    apply(
        cwd,
        &["restore_test.yml", "-e", INCIDENT, "-e", "fail=true"],
        1,
    );
    // Sorted first by their names: a file that is not JSON, and one with no `run_start`.
    write_tree(
        cwd,
        &[
            (".dr/runs/20000101T000000-000Z-garbage.jsonl", "not json\n"),
            (
                ".dr/runs/20000101T000000-001Z-headless.jsonl",
                "{\"at\":\"2000-01-01T00:00:00.001Z\",\"event\":\"dag\"}\n",
            ),
        ],
    );
}

fn epoch(timestamp: &Value) -> f64 {
    let t = time::OffsetDateTime::parse(
        timestamp.as_str().expect("a timestamp"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    t.unix_timestamp_nanos() as f64 / 1e9
}

#[test]
fn history_lists_every_run_oldest_first_and_the_unreadable_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    journal_directory(cwd);
    let text = Dr::new(cwd, &["report", "--history"]).run();
    text.code(0);
    let rows: Vec<&str> = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| started"))
        .collect();
    assert_eq!(rows.len(), 7, "{}", text.stdout);
    assert!(text.stdout.starts_with(
        "# Drill history: `.dr/runs`\n\n| started | playbook | mode | RTO | RPO | result |\n"
    ));
    assert!(
        rows[0]
            .starts_with("| - | `20000101T000000-000Z-garbage.jsonl` | - | - | - | unreadable: ")
            && rows[0].ends_with(":1: not a journal line (expected ident at line 1 column 2) |"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].ends_with("| unreadable: no `run_start` line: not a dr journal |"),
        "{}",
        rows[1]
    );
    let restore = rows[2];
    assert!(
        restore.contains(" | `restore_test.yml` | apply | 1.")
            && restore.ends_with(" s (target 1m ✅) | 15m00s (target 1h ✅) | success |"),
        "{restore}"
    );
    assert!(
        rows[3].ends_with(" | `restore_test.yml` | plan | - | - | success (plan with changes) |"),
        "{}",
        rows[3]
    );
    assert!(
        rows[4].contains(" | `backup_dump.yml` | apply | ")
            && rows[4].ends_with(" | - | success |"),
        "{}",
        rows[4]
    );
    assert!(
        rows[5].contains("`drill \"quoted\" \\n name.yml`"),
        "{}",
        rows[5]
    );
    // The newest last: the failed drill, which still restored (its RPO is measured).
    assert!(
        rows[6].contains(" | `restore_test.yml` | apply | ")
            && rows[6].ends_with(" | 15m00s (target 1h ✅) | failed |"),
        "{}",
        rows[6]
    );

    let doc = Dr::new(cwd, &["report", "--history", "--format", "json"])
        .run()
        .json();
    let runs = doc.as_array().expect("an array");
    assert_eq!(runs.len(), 7, "{doc}");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .ends_with(":1: not a journal line (expected ident at line 1 column 2)"),
        "{doc}"
    );
    assert_eq!(
        runs[1]["error"], "no `run_start` line: not a dr journal",
        "{doc}"
    );
    let modes: Vec<&str> = runs[2..]
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["apply", "plan", "apply", "apply", "apply"]);
    let starts: Vec<f64> = runs[2..].iter().map(|r| epoch(&r["started"])).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{doc}");
    assert_eq!(runs[2]["success"], true);
    assert_eq!(runs[2]["rpo_secs"], 900.0);
    assert_eq!(runs[2]["rto_target_secs"], 60.0);
    assert!(runs[2]["rto_secs"].as_f64().unwrap() >= 1.2, "{doc}");
    assert_eq!(runs[3]["rto_secs"], Value::Null, "a plan measures no RTO");
    assert_eq!(runs[6]["success"], false);
    assert_eq!(runs[6]["result"], "failed");

    // One run or all of them, not both.
    Dr::new(cwd, &["report", "--history", "2026"])
        .run()
        .code(64)
        .stderr_has("cannot be used with");
    Dr::new(cwd, &["report", "--history", "--slow", "3"])
        .run()
        .code(1)
        .stderr_has("have no findings");
}

/// The metrics parsed by `prometheus_client`: family name → (type, help, samples as
/// (labels, value)).
fn parse_metrics(text: &str) -> Value {
    let bin = util::ansible_bin();
    let python = bin.join("python");
    let have = Command::new(&python)
        .args(["-c", "import prometheus_client.parser"])
        .status()
        .expect("the test venv's python runs");
    assert!(
        have.success(),
        "prometheus_client is not installed in {}: run the suite with `tests/run`, which installs it (or `{}/pip install prometheus-client==0.26.0`)",
        bin.display(),
        bin.display()
    );
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "help": f.documentation,
                   "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
json.dump(out, sys.stdout)
"#;
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client cannot parse the metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of `family{playbook=label}`, if there is one.
fn sample(metrics: &Value, family: &str, label: &str) -> Option<f64> {
    metrics[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family}: {metrics}"))
        .iter()
        .find(|s| s["labels"]["playbook"] == label)
        .map(|s| s["value"].as_f64().unwrap())
}

#[test]
fn prometheus_metrics_parse_and_say_the_last_run_success_rto_rpo_and_backup_age() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    journal_directory(cwd);
    let history = Dr::new(cwd, &["report", "--history", "--format", "json"])
        .run()
        .json();
    let runs = history.as_array().unwrap();
    let prom = Dr::new(cwd, &["report", "--format", "prometheus"]).run();
    prom.code(0)
        .stdout_has("# TYPE dr_last_success_timestamp_seconds gauge\n")
        .stdout_has("# HELP dr_backup_age_seconds ");
    let m = parse_metrics(&prom.stdout);
    let families = [
        "dr_last_run_timestamp_seconds",
        "dr_last_run_success",
        "dr_last_success_timestamp_seconds",
        "dr_last_rto_seconds",
        "dr_rto_target_seconds",
        "dr_last_rpo_seconds",
        "dr_rpo_target_seconds",
        "dr_backup_age_seconds",
        "dr_journals_unreadable",
    ];
    for f in families {
        assert_eq!(m[f]["type"], "gauge", "{f}: {m}");
        assert!(!m[f]["help"].as_str().unwrap().is_empty(), "{f}");
    }
    assert_eq!(m.as_object().unwrap().len(), families.len(), "{m}");
    let restore = "restore_test.yml";
    let (first, failed) = (&runs[2], &runs[6]);
    // The last apply failed; the last success is the first drill; the plan is no drill.
    assert_eq!(sample(&m, "dr_last_run_success", restore), Some(0.0));
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 0.0015);
    assert!(close(
        sample(&m, "dr_last_run_timestamp_seconds", restore),
        epoch(&failed["started"])
    ));
    assert!(close(
        sample(&m, "dr_last_success_timestamp_seconds", restore),
        epoch(&first["started"])
    ));
    assert!(close(
        sample(&m, "dr_last_rto_seconds", restore),
        first["rto_secs"].as_f64().unwrap()
    ));
    assert_eq!(sample(&m, "dr_rto_target_seconds", restore), Some(60.0));
    assert_eq!(sample(&m, "dr_last_rpo_seconds", restore), Some(900.0));
    assert_eq!(sample(&m, "dr_rpo_target_seconds", restore), Some(3600.0));
    // A label that needs escaping comes back as it was.
    let quoted = "drill \"quoted\" \\n name.yml";
    assert_eq!(sample(&m, "dr_last_run_success", quoted), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "dr_last_run_success", "backup_dump.yml"),
        Some(1.0)
    );
    // Backup age: only the backup playbook has one, measured from its end to now.
    let backups = m["dr_backup_age_seconds"]["samples"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{m}");
    let age = sample(&m, "dr_backup_age_seconds", "backup_dump.yml").unwrap();
    let since_end = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9
        - epoch(&runs[4]["finished"]);
    assert!(
        age > 0.0 && age <= since_end,
        "age {age}, since the end {since_end}"
    );
    assert_eq!(
        m["dr_journals_unreadable"]["samples"][0]["value"], 2.0,
        "{m}"
    );
    // Three playbooks were applied; the plan adds none.
    assert_eq!(
        m["dr_last_run_success"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Metrics sum up every journal: naming one run is refused.
    Dr::new(cwd, &["report", "--format", "prometheus", "2026"])
        .run()
        .code(1)
        .stderr_has("read every journal");
}

#[test]
fn no_journals_is_an_empty_history_and_metrics_that_still_parse() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    Dr::new(cwd, &["report", "--history"])
        .run()
        .code(0)
        .stdout_has("No journals: run `dr apply` first.");
    let doc = Dr::new(cwd, &["report", "--history", "--format", "json"])
        .run()
        .json();
    assert_eq!(doc, serde_json::json!([]));
    let prom = Dr::new(cwd, &["report", "--format", "prometheus"]).run();
    prom.code(0).stdout_has("\ndr_journals_unreadable 0\n");
    let m = parse_metrics(&prom.stdout);
    assert_eq!(m["dr_last_run_success"]["samples"], serde_json::json!([]));
}

#[test]
fn report_help_explains_each_option() {
    let dir = tempfile::tempdir().unwrap();
    let help = Dr::new(dir.path(), &["report", "--help"]).run();
    help.code(0)
        .stdout_has("--history")
        .stdout_has("oldest first")
        .stdout_has("--slow <SECONDS>")
        .stdout_has("prometheus")
        .stdout_has("also `md`");
}

#[test]
fn a_long_wait_at_a_sync_point_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n    h2:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                "- name: together\n  hosts: all\n  gather_facts: false\n  tasks:\n\
                 \x20   - name: uneven\n      command: \"sleep {{ '1.2' if inventory_hostname == 'h2' else '0' }}\"\n\
                 \x20   - name: once\n      command: \"true\"\n      run_once: true\n",
            ),
        ],
    );
    apply(cwd, &["p.yml"], 0);
    let report = Dr::new(cwd, &["report", "--slow", "1"]).run();
    let md = &report.code(0).stdout;
    let findings = section(md, "Findings");
    assert!(
        findings.contains("### Waits of 1.0 s or more at sync points\n\n- `h1` waited 1."),
        "{findings}"
    );
    assert!(findings.contains(" at run_once\n"), "{findings}");
    assert!(
        section(md, "Actions").contains("- [ ] Shorten the wait of `h1` at `run_once` (1."),
        "{md}"
    );
    let doc = Dr::new(cwd, &["report", "--format", "json", "--slow", "1"])
        .run()
        .json();
    let waits = doc["findings"]["waits"].as_array().unwrap();
    assert_eq!(waits.len(), 1, "{doc}");
    assert_eq!(waits[0]["host"], "h1");
    assert!(waits[0]["waited_ms"].as_u64().unwrap() >= 1000, "{doc}");
}
