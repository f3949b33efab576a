//! `throttle` against the oracle (ansible-playbook 2.19): at most N hosts run a task at
//! once, N from the task or inherited from its block, templated with the task's
//! variables; a value that is not an integer fails as in Ansible; `run_once` ignores it.
//! Each throttled task appends `start HOST`, sleeps, and appends `end HOST` to one shared
//! file: with `throttle: 1`, every start is followed by its own end (no two hosts overlap),
//! under ansible-playbook and under dr alike.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, write_tree};

const INV: &str = "all:\n  hosts:\n    h1: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n    h2: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n    h3: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n";

/// The shell command of a throttled task: its start and end in the shared `log`.
const SPAN: &str = "shell: echo start {{ inventory_hostname }} >> {{ playbook_dir }}/log; sleep 0.3; echo end {{ inventory_hostname }} >> {{ playbook_dir }}/log";

/// A play on all hosts without facts, then `body` (its keywords and `tasks:`).
fn play(body: &str) -> String {
    format!("- hosts: all\n  gather_facts: false\n{body}")
}

/// Writes `inv.yml` and `p.yml` (`book`) in two new directories, runs the playbook with
/// ansible-playbook in one and `dr apply -v` in the other (both must succeed); returns
/// them with dr's output.
fn both(book: &str) -> (tempfile::TempDir, tempfile::TempDir, String) {
    util::assert_fresh_agent();
    let (ansible, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&ansible, &dr] {
        write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", book)]);
    }
    util::ansible_playbook(ansible.path(), &["-i", "inv.yml", "p.yml"]);
    let run = Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml", "-v"]).run();
    run.code(0);
    (ansible, dr, run.stdout.clone())
}

/// The shared log of a run.
fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("log")).unwrap_or_default()
}

/// Asserts that in `log` every host of `hosts` ran once, each start followed by its own
/// end: no two hosts ran the task at the same time.
fn assert_one_at_a_time(log: &str, hosts: &[&str], who: &str) {
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2 * hosts.len(), "{who}: {log}");
    let mut started = Vec::new();
    for pair in lines.chunks(2) {
        let host = pair[0]
            .strip_prefix("start ")
            .unwrap_or_else(|| panic!("{who}: a start was expected: {log}"));
        assert_eq!(
            pair[1],
            format!("end {host}"),
            "{who}: another host ran beside `{host}`:\n{log}"
        );
        started.push(host);
    }
    started.sort_unstable();
    assert_eq!(started, hosts, "{who}: {log}");
}

/// The journal's `throttle` sync points.
fn throttle_waits(dir: &Path) -> Vec<serde_json::Value> {
    util::journal_events(dir, "sync")
        .into_iter()
        .filter(|s| s["what"] == "throttle")
        .collect()
}

const ALL: [&str; 3] = ["h1", "h2", "h3"];

#[test]
fn throttle_one_runs_the_task_on_one_host_at_a_time() {
    let book = play(&format!(
        "  tasks:\n    - name: one at a time\n      {SPAN}\n      throttle: 1\n    - command: \"true\"\n"
    ));
    let (ansible, dr, out) = both(&book);
    assert_one_at_a_time(&log(ansible.path()), &ALL, "ansible-playbook");
    assert_one_at_a_time(&log(dr.path()), &ALL, "dr");
    // Each host's wait is shown with `-v` and recorded in the journal.
    assert_eq!(out.matches("throttle (waited").count(), 3, "{out}");
    let waits = throttle_waits(dr.path());
    assert_eq!(waits.len(), 3, "{waits:#?}");
    assert!(
        waits.iter().all(|w| w["index"] == waits[0]["index"]),
        "{waits:#?}"
    );
    // The graph names it where hosts wait for each other.
    Dr::new(dr.path(), &["graph", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("p.yml:4:7  throttle 1");
}

#[test]
fn a_task_inherits_throttle_from_its_block_and_a_handler_is_throttled_too() {
    let book = play(&format!(
        "  tasks:\n    - block:\n        - name: in the block\n          {SPAN}\n          notify: h\n      throttle: 1\n  handlers:\n    - name: h\n      shell: echo handler {{{{ inventory_hostname }}}} >> {{{{ playbook_dir }}}}/handled; sleep 0.2; echo done {{{{ inventory_hostname }}}} >> {{{{ playbook_dir }}}}/handled\n      throttle: 1\n"
    ));
    let (ansible, dr, _) = both(&book);
    assert_one_at_a_time(&log(ansible.path()), &ALL, "ansible-playbook");
    assert_one_at_a_time(&log(dr.path()), &ALL, "dr");
    for (dir, who) in [(&ansible, "ansible-playbook"), (&dr, "dr")] {
        let handled = std::fs::read_to_string(dir.path().join("handled")).unwrap();
        let spans = handled
            .replace("handler ", "start ")
            .replace("done ", "end ");
        assert_one_at_a_time(&spans, &ALL, &format!("{who}'s handler"));
    }
    // Three waits for the task, three for the handler.
    assert_eq!(throttle_waits(dr.path()).len(), 6);
}

#[test]
fn a_templated_throttle_is_rendered_with_the_tasks_variables() {
    // `limit` is a string: `int()` reads it, as Ansible does.
    let book = play(&format!(
        "  vars:\n    limit: \"1\"\n  tasks:\n    - name: templated\n      {SPAN}\n      throttle: \"{{{{ limit }}}}\"\n"
    ));
    let (ansible, dr, _) = both(&book);
    assert_one_at_a_time(&log(ansible.path()), &ALL, "ansible-playbook");
    assert_one_at_a_time(&log(dr.path()), &ALL, "dr");
    assert_eq!(throttle_waits(dr.path()).len(), 3);
}

#[test]
fn a_throttle_that_is_not_an_integer_fails_as_in_ansible() {
    const MSG: &str = "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'abc'";
    util::assert_fresh_agent();
    let book = play(
        "  vars:\n    limit: abc\n  tasks:\n    - command: touch before-{{ inventory_hostname }}\n    - command: touch throttled-{{ inventory_hostname }}\n      throttle: \"{{ limit }}\"\n    - command: touch after-{{ inventory_hostname }}\n",
    );
    let (ansible, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&ansible, &dr] {
        write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &book)]);
    }
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .current_dir(ansible.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(MSG), "{said}");
    Dr::new(dr.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has(MSG);
    // The task before ran on every host; neither the throttled task nor the one after
    // ran anywhere.
    let made = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.contains("-h"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        made(ansible.path()),
        ["before-h1", "before-h2", "before-h3"]
    );
    assert_eq!(made(dr.path()), made(ansible.path()));

    // Written as a plain value, Ansible says so when it gets to the task (the same
    // place); dr refuses it before anything runs.
    let literal = play("  tasks:\n    - command: \"true\"\n      throttle: abc\n");
    write_tree(ansible.path(), &[("literal.yml", &literal)]);
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "literal.yml"])
        .current_dir(ansible.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(MSG), "{said}");
    assert!(said.contains("literal.yml:5:17"), "{said}");
    write_tree(dr.path(), &[("literal.yml", &literal)]);
    Dr::new(dr.path(), &["plan", "literal.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has(MSG)
        .stderr_has("literal.yml:5:17");
}

#[test]
fn run_once_ignores_throttle() {
    let book = play(&format!(
        "  tasks:\n    - name: once\n      {SPAN}\n      throttle: 1\n      run_once: true\n"
    ));
    let (ansible, dr, _) = both(&book);
    assert_eq!(log(ansible.path()), "start h1\nend h1\n");
    assert_eq!(log(dr.path()), log(ansible.path()));
    assert!(throttle_waits(dr.path()).is_empty());
    assert_eq!(
        util::journal_events(dr.path(), "sync").len(),
        3,
        "each host meets at run_once"
    );
}

#[test]
fn every_level_passes_throttle_down_and_a_dynamic_include_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let book = "- hosts: all\n  gather_facts: false\n  throttle: 3\n  roles:\n    - role: r\n      throttle: 2\n  tasks:\n    - command: \"true\"\n    - import_tasks: t.yml\n      throttle: 4\n    - include_tasks:\n        file: t.yml\n        apply: {throttle: 5}\n    - command: \"true\"\n      throttle: 0\n    - block:\n        - command: \"true\"\n      throttle: \"{{ n }}\"\n";
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("roles/r/tasks/main.yml", "- command: 'true'\n"),
            ("t.yml", "- command: 'true'\n"),
            ("p.yml", book),
        ],
    );
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"]).run();
    run.code(0);
    let points: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("throttle"))
        .map(str::trim)
        .collect();
    assert_eq!(
        points,
        [
            "roles/r/tasks/main.yml:1:3  throttle 2",
            "p.yml:8:7  throttle 3",
            "t.yml:1:3  throttle 4",
            "t.yml:1:3  throttle 5",
            "p.yml:17:11  throttle `{{ n }}`",
        ],
        "{}",
        run.stdout
    );
    // As Ansible ("'throttle' is not a valid attribute for a TaskInclude").
    let include = "- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      throttle: 1\n";
    write_tree(dir.path(), &[("include.yml", include)]);
    Dr::new(dir.path(), &["graph", "include.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("`throttle` is not a valid keyword of `include_tasks`")
        .stderr_has("include.yml:4:7");
}
