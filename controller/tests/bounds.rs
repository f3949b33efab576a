//! Trust and bounds of what dr reads, and its exit codes: oversized inputs are refused
//! naming the file, a `dr.toml` anyone could have written is ignored, usage errors never
//! exit 2 (the plan's "changes"), and a `--format` a command cannot print is refused.

mod util;

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    box:\n      ansible_connection: local\n";
const PLAYBOOK: &str =
    "- hosts: box\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: hello\n";

#[test]
fn an_endless_extra_vars_file_is_refused_at_the_cap_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INVENTORY), ("pb.yml", PLAYBOOK)]);
    let started = Instant::now();
    let run = Dr::new(
        dir.path(),
        &["plan", "pb.yml", "-i", "inv.yml", "-e", "@/dev/zero"],
    )
    .run();
    run.code(1).stderr_has(
        "`/dev/zero` is larger than 64 MiB, the limit for inventories, vars files, `-e @file` and playbooks",
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_oversized_inventory_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.yml");
    // Sparse: 65 MiB of holes, no disk used.
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(65 * 1024 * 1024).unwrap();
    Dr::new(dir.path(), &["inventory", "list", "-i", "huge.yml"])
        .run()
        .code(1)
        .stderr_has("`huge.yml` is larger than 64 MiB");
}

#[test]
fn a_dr_toml_in_a_world_writable_directory_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    write_tree(
        &shared,
        &[
            ("dr.toml", "inventory = \"inv.yml\"\n"),
            ("inv.yml", INVENTORY),
        ],
    );
    // Trusted: the inventory it names is used.
    Dr::new(&shared, &["inventory", "list"])
        .run()
        .code(0)
        .stdout_has("box");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    Dr::new(&shared, &["inventory", "list"])
        .run()
        .code(1)
        .stderr_has("ignoring `")
        .stderr_has("dr.toml`: its directory `")
        .stderr_has("` is world-writable, so anyone could have written it")
        .stderr_has("no inventory");
}

#[test]
fn usage_errors_exit_64_never_the_plans_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["plan"][..],
        &["plan", "pb.yml", "--no-such-flag"],
        &["apply", "pb.yml", "--forks", "many"],
        &["frobnicate"],
    ] {
        Dr::new(dir.path(), args).run().code(64);
    }
    Dr::new(dir.path(), &["--help"])
        .run()
        .code(0)
        .stdout_has("Usage: dr");
}

#[test]
fn a_format_a_command_cannot_print_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INVENTORY), ("pb.yml", PLAYBOOK)]);
    for args in [
        &["plan", "pb.yml", "-i", "inv.yml", "--format", "dot"][..],
        &["apply", "pb.yml", "-i", "inv.yml", "--format", "dot"],
        &["inventory", "list", "-i", "inv.yml", "--format", "dot"],
        &["report", "--format", "dot"],
    ] {
        Dr::new(dir.path(), args)
            .run()
            .code(64)
            .stderr_has("invalid value 'dot' for '--format <FORMAT>'")
            .stderr_has("[possible values: text, json");
    }
    Dr::new(
        dir.path(),
        &["graph", "pb.yml", "-i", "inv.yml", "--format", "dot"],
    )
    .run()
    .code(0)
    .stdout_has("digraph");
}
