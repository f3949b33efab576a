//! What a failed host does to the others, against the oracle (ansible-playbook 2.19): a
//! failed host leaves the run and the others go on; every host of a batch failed stops the
//! playbook; `any_errors_fatal` (also with a rescue, not with `ignore_errors`),
//! `max_fail_percentage`, `meta: end_play` and `meta: clear_host_errors` (run once for the
//! batch, on its first host), serial batches. dr's `after:` keeps its strict order
//! (`controller/tests/scheduler.rs`).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use util::{outputs, same_files_as_ansible};

fn same_as_ansible(playbook: &str, dr_code: i32) -> tempfile::TempDir {
    same_files_as_ansible("host_failures", playbook, dr_code)
}

/// The files, by name only.
fn names(dir: &tempfile::TempDir) -> Vec<String> {
    outputs(dir.path()).into_keys().collect()
}

#[test]
fn a_failed_host_leaves_the_run_and_clear_host_errors_takes_it_back() {
    // b fails in the first play and sits out the second; `clear_host_errors` in the second
    // play's `always` takes back c's failure there and b's from before: both run the third.
    let dr = same_as_ansible("survivors.yml", 0);
    assert_eq!(
        names(&dr),
        [
            "a.after", "a.second", "a.third", "b.third", "c.after", "c.second", "c.third"
        ]
    );
}

#[test]
fn any_errors_fatal_fails_every_host_after_the_task_and_stops_the_playbook() {
    let dr = same_as_ansible("fatal.yml", 1);
    assert_eq!(names(&dr), ["a.one", "b.one", "c.one"]);
    util::Dr::new(dr.path(), &["apply", "fatal.yml", "-i", "inventory.yml"])
        .run()
        .code(1)
        .stdout_has("`any_errors_fatal`: the task failed on `b`");
    // The plan shows where the hosts settle.
    util::Dr::new(dr.path(), &["graph", "fatal.yml", "-i", "inventory.yml"])
        .run()
        .code(0)
        .stdout_has("fatal.yml:11:7  any_errors_fatal");
}

#[test]
fn any_errors_fatal_sends_every_host_to_its_rescue_and_ignores_ignored_errors() {
    let dr = same_as_ansible("fatal_rescue.yml", 0);
    assert_eq!(
        names(&dr),
        [
            "a.end",
            "a.rescued",
            "b.end",
            "b.rescued",
            "c.end",
            "c.rescued"
        ]
    );
}

#[test]
fn every_host_of_a_play_failed_stops_the_playbook() {
    let dr = same_as_ansible("all_failed.yml", 1);
    assert!(names(&dr).is_empty());
}

#[test]
fn max_fail_percentage_fails_the_batch_only_past_the_share() {
    let dr = same_as_ansible("max_fail.yml", 1);
    assert_eq!(names(&dr), ["a.within", "b.within"]);
}

#[test]
fn end_play_runs_once_for_the_batch_and_serial_batches_go_on() {
    let dr = same_as_ansible("end_play.yml", 1);
    assert_eq!(
        names(&dr),
        [
            "a.next",
            "a.not-ended",
            "b.next",
            "b.not-ended",
            "c.next",
            "c.not-ended"
        ]
    );
    let dr = same_as_ansible("serial.yml", 1);
    assert_eq!(names(&dr), ["b.batch", "c.batch"]);
    // Ended, not failed: the run succeeds.
    let dr = same_as_ansible("serial_end.yml", 0);
    assert_eq!(names(&dr), ["a.after", "b.after", "c.after"]);
}

#[test]
fn a_handler_failing_in_an_any_errors_fatal_play_fails_every_host() {
    let dr = same_as_ansible("fatal_handler.yml", 1);
    assert_eq!(names(&dr), Vec::<String>::new());
}
