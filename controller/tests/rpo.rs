//! `rpo_target` and `recovery_point`: the recovery point a restore reached goes into the
//! journal, and `dr report` sets it against the target as it does the RTO.

mod util;

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    h1:\n      ansible_connection: local\n";

fn playbook(target: &str, restored_to: &str) -> String {
    format!(
        "- rto_target: 5m\n  rpo_target: {target}\n\n\
         - name: restore\n  hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - name: the recovery point reached\n      recovery_point:\n\
         \x20       restored_to: \"{restored_to}\"\n        incident_time: \"{{{{ incident_time }}}}\"\n"
    )
}

fn report(dir: &std::path::Path) -> (String, serde_json::Value) {
    let md = Dr::new(dir, &["report"]).run();
    md.code(0);
    let json = Dr::new(dir, &["report", "--format", "json"]).run();
    json.code(0);
    (md.stdout.clone(), json.json())
}

#[test]
fn the_rpo_a_restore_recorded_is_reported_against_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            ("inv.yml", INVENTORY),
            ("met.yml", &playbook("1h", "2026-11-29T10:00:00Z")),
            ("missed.yml", &playbook("10m", "2026-11-29 09:00:00+00")),
        ],
    );
    let incident = "incident_time=2026-11-29T10:15:00.5Z";
    Dr::new(cwd, &["apply", "met.yml", "-i", "inv.yml", "-e", incident])
        .run()
        .code(0);
    let (md, doc) = report(cwd);
    assert!(
        md.contains(
            "- Measured RPO: 15m00s (data restored to 2026-11-29T10:00:00Z, lost at 2026-11-29T10:15:00.5Z; target 1h: ✅ met)"
        ),
        "{md}"
    );
    assert_eq!(doc["rpo_secs"], 900.5);
    assert_eq!(doc["rpo_target_secs"], 3600.0);
    assert_eq!(doc["rpo_met"], true);
    assert_eq!(doc["rpo_restored_to"], "2026-11-29T10:00:00Z");

    Dr::new(
        cwd,
        &["apply", "missed.yml", "-i", "inv.yml", "-e", incident],
    )
    .run()
    .code(0);
    let (md, doc) = report(cwd);
    assert!(md.contains("target 10m: ⚠️ MISSED)"), "{md}");
    assert_eq!(doc["rpo_met"], false);

    // A restore to after the incident is a mistake in the times, not an RPO of zero.
    let late = playbook("1h", "2026-11-29T10:20:00Z");
    write_tree(cwd, &[("late.yml", &late)]);
    Dr::new(cwd, &["apply", "late.yml", "-i", "inv.yml", "-e", incident])
        .run()
        .code(1)
        .stdout_has("is after `incident_time`");
}

#[test]
fn a_bad_rpo_target_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            ("inv.yml", INVENTORY),
            ("p.yml", &playbook("a day", "2026-11-29T10:00:00Z")),
        ],
    );
    Dr::new(cwd, &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:2:15")
        .stderr_has("`rpo_target` must be a duration like `5m` or `1h30m`, found `a day`");
}
