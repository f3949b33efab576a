//! `dr graph` on the shipped playbooks: stages in DR order, `--limit`, dot and JSON.

mod util;

use util::{Dr, repo_root};

#[test]
fn site_runs_database_then_stateful_then_management_then_signaling() {
    let run = Dr::new(&repo_root(), &["graph", "playbooks/site.yml"]).run();
    run.code(0);
    let stages: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .collect();
    let names: Vec<&str> = stages
        .iter()
        .map(|l| l.trim().split(" (").next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "database primary",
            "database replica",
            "stateful",
            "management",
            "signaling"
        ],
        "{}",
        run.stdout
    );
    assert!(run.stdout.starts_with("stage 1:\n  database primary (playbooks/site.yml:9:3)\n    hosts: akira-db-01\nstage 2:\n  database replica"), "{}", run.stdout);
    assert!(
        run.stdout.contains("stage 5:\n  signaling"),
        "{}",
        run.stdout
    );
}

#[test]
fn limit_management_keeps_only_the_management_stage() {
    let run = Dr::new(
        &repo_root(),
        &["graph", "playbooks/site.yml", "--limit", "management"],
    )
    .run();
    run.code(0);
    assert!(
        run.stdout
            .starts_with("stage 1:\n  management (playbooks/site.yml:"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("stage 2:"), "{}", run.stdout);
    run.stdout_has("hosts: akira-mgmt-01").stdout_has(
        "not run (no hosts after --limit): database primary, database replica, stateful, PgBouncer, signaling",
    );
}

#[test]
fn json_and_dot() {
    let json = Dr::new(
        &repo_root(),
        &["graph", "playbooks/site.yml", "--format", "json"],
    )
    .run();
    let doc = json.code(0).json();
    assert_eq!(doc["stages"].as_array().unwrap().len(), 5);
    assert_eq!(doc["stages"][3]["plays"][0]["name"], "management");
    assert_eq!(doc["stages"][3]["plays"][0]["hosts"][0], "akira-mgmt-01");
    let dot = Dr::new(
        &repo_root(),
        &["graph", "playbooks/site.yml", "--format", "dot"],
    )
    .run();
    dot.code(0)
        .stdout_has("digraph dr {")
        .stdout_has("label=\"stage 5\"");
}

#[test]
fn independent_plays_share_a_stage() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  children:\n    db:\n      hosts: {db-01: {}, db-02: {}}\n    web:\n      hosts: {web-01: {}}\n    sig:\n      hosts: {sig-01: {}}\n",
            ),
            (
                "p.yml",
                "- name: db\n  hosts: db\n- name: web\n  hosts: web\n  after: []\n- name: sig\n  hosts: sig\n  after: [db, web]\n",
            ),
        ],
    );
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"]).run();
    run.code(0);
    assert_eq!(
        run.stdout,
        "stage 1:\n  db (p.yml:1:3)\n    hosts: db-01, db-02\n  web (p.yml:3:3)\n    hosts: web-01\nstage 2:\n  sig (p.yml:6:3)\n    hosts: sig-01\n"
    );
}

#[test]
fn templated_hosts_and_implicit_localhost() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  vars:\n    replica: db-02\n  children:\n    db:\n      hosts: {db-01: {}, db-02: {}}\n",
            ),
            (
                "p.yml",
                "- name: fence\n  hosts: localhost\n- name: promote\n  hosts: \"{{ new_primary }}\"\n  vars:\n    new_primary: \"{{ replica }}\"\n",
            ),
        ],
    );
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"]).run();
    run.code(0)
        .stdout_has("  fence (p.yml:1:3)\n    hosts: localhost\n")
        .stdout_has("  promote (p.yml:3:3)\n    hosts: db-02\n");
    let run = Dr::new(
        dir.path(),
        &["graph", "p.yml", "-i", "inv.yml", "-e", "new_primary=db-01"],
    )
    .run();
    run.code(0)
        .stdout_has("  promote (p.yml:3:3)\n    hosts: db-01\n");
    let run = Dr::new(
        dir.path(),
        &[
            "graph",
            "p.yml",
            "-i",
            "inv.yml",
            "-e",
            "replica={{ nope }}",
        ],
    )
    .run();
    run.code(1)
        .stderr_has("cannot render `hosts: {{ new_primary }}`");
}
