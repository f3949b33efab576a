//! Data across hosts (`docs/cross-host.md`) against the oracle: `hostvars` of other hosts
//! (facts set in the same play, read directly, through play variables and in a template),
//! `run_once` results for the batch, `delegate_to` another host and `localhost`,
//! `local_action`, `delegate_facts`, earlier plays' facts and results. The same playbook run by
//! ansible-playbook and by dr must leave the same files.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{Dr, outputs};

/// Runs `playbook` with ansible-playbook and with dr (`dr_code` expected); returns dr's
/// directory after checking both left the same files.
fn same_as_ansible(playbook: &str, dr_code: i32) -> tempfile::TempDir {
    util::same_files_as_ansible("cross_host", playbook, dr_code)
}

#[test]
fn other_hosts_data_run_once_and_delegation_give_what_ansible_gives() {
    let dr = same_as_ansible("site.yml", 0);
    let out = outputs(dr.path());
    // The points of the comparison, spelled out.
    assert_eq!(out["db2.follow"], "db2 follows db1:5432\n");
    assert_eq!(out["db2.states"], "db1=primary-ready\ndb2=replica-ready\n");
    assert_eq!(out["db2.once"], "token-from-db1 db1 True\n");
    assert_eq!(out["lb.backend-db2"], "db2 5433 replica\n");
    assert_eq!(out["db2.checked"], "checked db2\n");
    assert_eq!(out["db2.local"], "db2 via local_action\n");
    assert!(
        out["lb.summary"].ends_with("weight=7\n"),
        "{}",
        out["lb.summary"]
    );
    // Each wait is in the journal: the barriers before the tasks that read other hosts,
    // the run_once tasks, the delegated runs.
    let syncs = util::journal_events(dr.path(), "sync");
    let count = |what: &str| syncs.iter().filter(|s| s["what"] == what).count();
    assert_eq!(count("barrier"), 2 * 2 + 1, "{syncs:#?}");
    assert_eq!(count("run_once"), 2 * 3, "{syncs:#?}");
    assert_eq!(count("delegate_to lb1"), 2 + 1, "{syncs:#?}");
    assert_eq!(count("delegate_to localhost"), 2 * 2, "{syncs:#?}");
    // The drill report says how long hosts waited for each other.
    Dr::new(dr.path(), &["report"])
        .run()
        .code(0)
        .stdout_has(&format!(
            "- Waiting for other hosts: {} sync point(s), ",
            syncs.len()
        ));
    // Where a delegated task ran is recorded with its result.
    let ends = util::journal_events(dr.path(), "task_end");
    assert!(
        ends.iter()
            .any(|t| t["host"] == "db2" && t["on"] == "lb1" && t["status"] == "changed"),
        "{ends:#?}"
    );
}

#[test]
fn a_replica_reads_the_primarys_gathered_address_and_fact() {
    let dr = same_as_ansible("replica.yml", 0);
    let conf = &outputs(dr.path())["db2.conf"];
    assert!(
        conf.starts_with("primary=") && conf.ends_with(" wal=replica\n"),
        "{conf}"
    );
}

#[test]
fn a_failed_host_does_not_hold_the_others_and_leaves_the_play_hosts() {
    let dr = same_as_ansible("failures.yml", 1);
    assert_eq!(outputs(dr.path())["db1.after"], "db2\n");
    // The failed host has left the play.
    assert_eq!(outputs(dr.path())["db1.active"], "db1 db1 db1,db2\n");
}

#[test]
fn a_failed_run_once_task_fails_the_whole_batch() {
    let dr = same_as_ansible("once_fails.yml", 1);
    assert!(outputs(dr.path()).is_empty());
    let ends = util::journal_events(dr.path(), "node_end");
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|n| n["outcome"] == "failed"), "{ends:#?}");
}

#[test]
fn a_templated_run_once_is_rendered_with_each_hosts_variables() {
    let dr = same_as_ansible("templated_once.yml", 0);
    let out = outputs(dr.path());
    assert_eq!(out["db1.once"], "once from db1\n");
    assert!(!out.contains_key("db2.once"), "{out:?}");
    assert_eq!(out["lb1.took"], "took True\n");
    assert_eq!(out["lb1.each"], "each\n");
    assert_eq!(out["lb1.handler"], "handler\n");
}

#[test]
fn a_templated_run_once_dr_cannot_render_the_same_for_the_batch_is_refused() {
    let dir = util::fixture("cross_host");
    let play = |when: &str| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {{msg: hi}}\n      run_once: \"{{{{ {when} }}}}\"\n"
        )
    };
    std::fs::write(dir.path().join("hostvar.yml"), play("port_ is defined")).unwrap();
    Dr::new(dir.path(), &["apply", "hostvar.yml", "-i", "inventory.yml", "--yes"])
        .run()
        .code(1)
        .stdout_has("`run_once: {{ port_ is defined }}` (hostvar.yml:4:7) is true for `db1` but false for `lb1`; dr runs a templated `run_once` only when it is the same for every host of the batch");
    std::fs::write(dir.path().join("fact.yml"), play("ansible_os_family")).unwrap();
    Dr::new(dir.path(), &["apply", "fact.yml", "-i", "inventory.yml", "--yes"])
        .run()
        .code(1)
        .stdout_has("cannot render `run_once: {{ ansible_os_family }}` (fact.yml:4:7) for `db1` before the play: 'ansible_os_family' is undefined");
    std::fs::write(
        dir.path().join("block.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - run_once: \"{{ x }}\"\n      block:\n        - debug: {msg: hi}\n",
    )
    .unwrap();
    Dr::new(
        dir.path(),
        &["apply", "block.yml", "-i", "inventory.yml", "--yes"],
    )
    .run()
    .code(1)
    .stderr_has("block.yml:4:7")
    .stderr_has("a templated `run_once` on `a block, play or role` is not supported by dr");
}

#[test]
fn a_play_without_cross_host_data_has_no_sync_point() {
    let dir = tempfile::tempdir().unwrap();
    util::write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  vars: {ansible_connection: local}\n  hosts: {a: {}, b: {}}\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact: {x: 1}\n    - command: echo {{ x }} {{ inventory_hostname }} {{ groups['all'] | length }}\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(
        util::journal_events(dir.path(), "sync"),
        Vec::<serde_json::Value>::new()
    );
}

#[test]
fn graph_and_plan_show_where_hosts_wait() {
    let dir = util::fixture("cross_host");
    Dr::new(dir.path(), &["graph", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(0)
        .stdout_has("    sync points: 9 (each host still runs the play in one exec)\n")
        .stdout_has("      site.yml:13:7  reads other hosts' data\n")
        .stdout_has("      site.yml:21:7  run_once\n")
        .stdout_has("      site.yml:32:7  delegate_to {{ groups['lb'][0] }}\n")
        .stdout_has("      site.yml:42:7  delegate_to localhost\n");
    // (A `command` the plan does not run is registered as Ansible's check mode registers
    // it, with an empty output: the plan goes through, with changes.)
    Dr::new(dir.path(), &["plan", "site.yml", "-i", "inventory.yml"])
        .run()
        .code(2)
        .stdout_has(
            "  sync `database`: 9 sync point(s): reads other hosts' data at site.yml:13:7; ",
        )
        .stdout_has(
            "  sync `load balancer`: 1 sync point(s): reads other hosts' data at site.yml:65:7\n",
        );
}

#[test]
fn add_host_and_group_by_change_the_inventory_for_later_plays() {
    let dr = same_as_ansible("inventory_change.yml", 0);
    let out = outputs(dr.path());
    assert_eq!(
        out["db2.later"],
        "db2 5433 ['by_role', 'database', 'role_replica'] ['db2', 'db3']\n"
    );
    assert_eq!(
        out["db3.later"],
        "db3 5434 ['added', 'database'] ['db2', 'db3']\n"
    );
    // `changed_when` reads the result of the inventory change.
    assert_eq!(out["lb1.quiet"], "False ['db1', 'db2', 'lb1']\n");
    // The journal records the DAG again once the later plays have their hosts.
    let dags = util::journal_events(dr.path(), "dag");
    assert!(dags.len() >= 2, "{dags:#?}");
    assert_eq!(dags[0]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(
        dags.last().unwrap()["nodes"].as_array().unwrap().len(),
        3 + 2 + 3
    );
    let report = Dr::new(dr.path(), &["report", "--format", "json"]).run();
    report.code(0);
    assert_eq!(report.json()["result"], "success");
    Dr::new(dr.path(), &["graph", "inventory_change.yml", "-i", "inventory.yml"])
        .run()
        .code(0)
        .stdout_has("later, with hosts chosen when the run gets there (after `add_host`/`group_by`):\n  the new group (inventory_change.yml:24:3)\n");
}

#[test]
fn a_plan_changes_the_inventory_in_memory_as_ansible_check_mode_does() {
    let dir = util::fixture("cross_host");
    Dr::new(
        dir.path(),
        &["plan", "inventory_change.yml", "-i", "inventory.yml"],
    )
    .run()
    .code(2)
    .stdout_has("▸ db3 the new group\n");
    let dags = util::journal_events(dir.path(), "dag");
    assert_eq!(
        dags.last().unwrap()["nodes"].as_array().unwrap().len(),
        3 + 2 + 3
    );
    assert!(outputs(dir.path()).is_empty(), "the plan wrote files");
}
