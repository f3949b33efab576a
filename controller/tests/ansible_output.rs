//! `dr apply --format ansible` prints what ansible-playbook prints: the same playbooks run
//! by the real ansible-playbook (the oracle) and by dr on localhost (local connection), their
//! stdout compared line by line, with only timings normalised.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use util::{Dr, ansible_bin, write_tree};

/// A playbook touching each kind of line the default callback prints.
const PLAYBOOK: &str = r#"- name: output parity
  hosts: localhost
  gather_facts: false
  vars:
    skip_it: false
  roles:
    - r1
  tasks:
    - name: say hi
      command: echo hi
    - debug:
        msg: hello
    - debug:
        var: foo
      vars:
        foo: [1, {a: b}]
    - name: skip me
      command: echo skipped
      when: skip_it
    - name: loop
      command: echo {{ item }}
      loop: [a, {b: 1}]
    - name: loop label
      debug: msg=x
      loop: [a, b]
      loop_control:
        label: "L {{ item }}"
    - name: loop skipped
      command: echo {{ item }}
      loop: [a, b]
      when: item == 'z'
    - name: fail ignored
      fail: msg=boom
      ignore_errors: true
    - name: notify
      command: "true"
      notify: h1
    - name: end host or not
      meta: end_host
      when: skip_it
    - name: assert
      assert: {that: [1 == 1]}
    - name: shell fail
      shell: echo out; echo err >&2; exit 3
      ignore_errors: true
    - set_fact: a=1
    # Named apart from its output: what a no_log task prints is a secret from then on,
    # and the run masks it wherever it appears, its own task's banner too when the
    # output is written after the run learned it.
    - name: hidden output
      command: echo secret
      no_log: true
    - include_tasks: inc.yml
  handlers:
    - name: h1
      debug: msg=handled
"#;

/// The inventory: localhost over the local connection, with the oracle's Python.
fn inventory() -> String {
    format!(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: {}\n",
        ansible_bin().join("python").display()
    )
}

fn project(dir: &Path, playbook: &str) {
    write_tree(
        dir,
        &[
            ("inv.yml", &inventory()),
            ("p.yml", playbook),
            ("inc.yml", "- name: included task\n  debug:\n    msg: inc\n"),
            (
                "roles/r1/tasks/main.yml",
                "- name: role task\n  debug: msg=in-role\n- command: echo role\n",
            ),
        ],
    );
}

/// ansible-playbook's stdout and exit code.
fn ansible_playbook(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ansible-playbook runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Timings (`delta`, `start`, `end` of a command's result) replaced by `T`; at `-vv` the
/// lines before the first banner (ansible-playbook's version and configuration) dropped.
fn normalise(out: &str) -> String {
    let from = out.find("\nPLAY").unwrap_or(0);
    let mut text = out[from..].to_owned();
    for key in ["delta", "start", "end"] {
        let pattern = format!("\"{key}\": \"");
        let mut at = 0;
        while let Some(i) = text[at..].find(&pattern) {
            let start = at + i + pattern.len();
            let Some(len) = text[start..].find('"') else {
                break;
            };
            text.replace_range(start..start + len, "T");
            at = start + 1;
        }
    }
    text
}

/// The first differing line of the two outputs, with both texts, or nothing.
fn compare(ansible: &str, dr: &str) {
    let (a, d) = (normalise(ansible), normalise(dr));
    if a == d {
        return;
    }
    let line = a
        .lines()
        .zip(d.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(d.lines().count()));
    panic!(
        "outputs differ at line {}:\n  ansible: {:?}\n  dr:      {:?}\n--- ansible-playbook:\n{a}\n--- dr:\n{d}",
        line + 1,
        a.lines().nth(line),
        d.lines().nth(line)
    );
}

fn dr(dir: &Path, args: &[&str]) -> util::Run {
    let mut all = vec![
        "apply", "--yes", "-i", "inv.yml", "p.yml", "--format", "ansible",
    ];
    all.extend_from_slice(args);
    Dr::new(dir, &all).run()
}

#[test]
fn default_output_matches_ansible_playbook() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), PLAYBOOK);
    let (ansible, code) = ansible_playbook(dir.path(), &[]);
    assert_eq!(code, 0, "{ansible}");
    let ours = dr(dir.path(), &[]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
    assert!(ours.stdout.contains("PLAY RECAP"), "{}", ours.stdout);
}

#[test]
fn verbose_output_shows_results_as_ansible_playbook_does() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), PLAYBOOK);
    let (ansible, _) = ansible_playbook(dir.path(), &["-v"]);
    let ours = dr(dir.path(), &["-v"]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
}

#[test]
fn vv_shows_task_paths_and_meta_lines() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        r#"- name: "meta with {{ how | default('defaults') }} and {{ pv }}"
  hosts: localhost
  gather_facts: false
  vars:
    pv: play vars
  tasks:
    - name: go on
      meta: end_host
      when: inventory_hostname == 'nowhere'
    - debug:
        msg: play not ended
    - meta: end_host
    - debug:
        msg: never shown
"#,
    );
    let (ansible, _) = ansible_playbook(dir.path(), &["-vv", "-e", "how=extra"]);
    let ours = dr(dir.path(), &["-vv", "-e", "how=extra"]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
    ours.stdout_has("PLAY [meta with extra and play vars]")
        .stdout_has(
            "META: end_host conditional evaluated to False, continuing execution for localhost",
        )
        .stdout_has("META: ending play for localhost")
        .stdout_lacks("never shown");
}

#[test]
fn a_failure_prints_fatal_and_counts_in_the_recap() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        r#"- name: failing
  hosts: localhost
  gather_facts: false
  tasks:
    - name: items
      command: "{{ item }}"
      loop: ["true", "false"]
      ignore_errors: true
    - name: stop here
      fail:
        msg: it broke
    - name: not reached
      debug: msg=no
"#,
    );
    let (ansible, code) = ansible_playbook(dir.path(), &[]);
    assert_eq!(code, 2, "{ansible}");
    let ours = dr(dir.path(), &[]);
    ours.code(1); // dr's exit code for a failed host
    compare(&ansible, &ours.stdout);
    ours.stdout_has("failed=1");
}

#[test]
fn a_banner_is_printed_again_when_another_tasks_results_came_between() {
    // Host `slow` takes a second over its first task; `fast` runs all three meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let python = ansible_bin().join("python");
    let host = |name: &str, delay: u32| {
        format!(
            "    {name}:\n      ansible_connection: local\n      ansible_python_interpreter: {}\n      delay: {delay}\n",
            python.display()
        )
    };
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                &format!("all:\n  hosts:\n{}{}", host("fast", 0), host("slow", 1)),
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: t1\n      command: sleep {{ delay }}\n    - name: t2\n      command: echo 2\n    - name: t3\n      command: echo 3\n",
            ),
        ],
    );
    let ours = dr(dir.path(), &[]);
    ours.code(0);
    // Every result line sits under its own task's banner.
    let mut banner = "";
    let mut seen = std::collections::BTreeMap::new();
    for line in ours.stdout.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            banner = rest.split(']').next().unwrap_or_default();
        } else if let Some(rest) = line.strip_prefix("changed: [") {
            let host = rest.split(']').next().unwrap_or_default();
            *seen
                .entry((banner.to_owned(), host.to_owned()))
                .or_insert(0) += 1;
        }
    }
    let expected: std::collections::BTreeMap<_, _> = ["t1", "t2", "t3"]
        .iter()
        .flat_map(|t| ["fast", "slow"].map(|h| ((t.to_string(), h.to_string()), 1)))
        .collect();
    assert_eq!(seen, expected, "{}", ours.stdout);
    assert_eq!(
        ours.stdout.matches("TASK [t1]").count(),
        2,
        "`slow`'s t1 came after `fast`'s t3: its banner is printed again\n{}",
        ours.stdout
    );
    ours.stdout_has(
        "fast                       : ok=3    changed=3    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0",
    );
}

#[test]
fn only_plan_and_apply_print_ansibles_format() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), PLAYBOOK);
    Dr::new(
        dir.path(),
        &["inventory", "list", "-i", "inv.yml", "--format", "ansible"],
    )
    .run()
    .code(64);
}

#[test]
fn list_tasks_tags_and_hosts_match_ansible_playbook() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        r#"- hosts: localhost
  tags: [pt]
  roles: [r1]
  tasks:
    - block:
        - name: in block
          debug: msg=x
          tags: b1
      rescue:
        - name: in rescue
          debug: msg=y
    - include_tasks: inc.yml
    - name: named include
      include_tasks: inc.yml
    - meta: flush_handlers
- name: second
  hosts: all
  gather_facts: false
  tasks:
    - name: never listed unless asked
      debug: msg=n
      tags: [never, n]
    - name: templated tags
      debug: msg=t
      tags: "{{ the_tags }}"
  vars:
    the_tags: [t3, t4]
"#,
    );
    for args in [
        &["--list-tasks", "--list-tags", "--list-hosts"][..],
        &["--list-tags", "-t", "b1"],
        &["--list-tasks", "--skip-tags", "pt"],
        &["--list-tasks", "-t", "n"],
        &["--list-tasks"],
        &["--list-tasks", "-t", "t4"],
        &["--list-hosts"],
    ] {
        let (ansible, code) = ansible_playbook(dir.path(), args);
        assert_eq!(code, 0, "{ansible}");
        let mut all = vec!["apply", "-i", "inv.yml", "p.yml"];
        all.extend_from_slice(args);
        let ours = Dr::new(dir.path(), &all).run();
        ours.code(0);
        assert_eq!(ours.stdout, ansible, "with {args:?}");
    }
}

#[test]
fn a_rescued_failure_counts_as_rescued_in_the_recap() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - block:
        - name: breaks
          command: "false"
      rescue:
        - name: rescued
          debug: msg=rescued
      always:
        - name: always
          debug: msg=always
    - name: after
      debug: msg=after
"#,
    );
    let (ansible, code) = ansible_playbook(dir.path(), &[]);
    assert_eq!(code, 0, "{ansible}");
    let ours = dr(dir.path(), &[]);
    ours.code(0)
        .stdout_has("failed=0    skipped=0    rescued=1");
    compare(&ansible, &ours.stdout);
}

#[test]
fn a_play_no_host_matched_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let play = |name: &str, hosts: &str| {
        format!(
            "- name: {name}\n  hosts: {hosts}\n  gather_facts: false\n  tasks:\n    - debug: msg={name}\n"
        )
    };
    project(
        dir.path(),
        &[
            play("first", "other"),
            play("second", "localhost"),
            play("third", "other"),
        ]
        .concat(),
    );
    let python = ansible_bin().join("python");
    write_tree(
        dir.path(),
        &[(
            "inv.yml",
            &format!(
                "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: {0}\n    other:\n      ansible_connection: local\n      ansible_python_interpreter: {0}\n",
                python.display()
            ),
        )],
    );
    let (ansible, code) = ansible_playbook(dir.path(), &["-l", "localhost"]);
    assert_eq!(code, 0, "{ansible}");
    let ours = dr(dir.path(), &["-l", "localhost"]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
    assert_eq!(ours.stdout.matches("skipping: no hosts matched").count(), 2);
}

#[test]
fn start_at_task_starts_where_ansible_playbook_starts() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=skipped-play\n{PLAYBOOK}- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=after\n"
    );
    project(dir.path(), &playbook);
    // A pattern, matched against the task's name; an unnamed role task as `role : action`.
    for start in ["loop lab*", "r1 : command"] {
        let (ansible, code) = ansible_playbook(dir.path(), &["--start-at-task", start]);
        assert_eq!(code, 0, "{ansible}");
        assert!(!ansible.contains("skipped-play"), "{ansible}");
        let ours = dr(dir.path(), &["--start-at-task", start]);
        ours.code(0);
        compare(&ansible, &ours.stdout);
    }
    let none = dr(dir.path(), &["--start-at-task", "no such task"]);
    none.code(1)
        .stderr_has("No matching task \"no such task\" found");
}

#[test]
fn an_include_role_named_by_a_loop_item_runs_and_prints_as_in_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - block:
        - include_role:
            name: '{{ item }}'
          loop: [r1, failing]
      rescue:
        - debug:
            msg: "{{ ansible_failed_task.name }}"
"#;
    project(dir.path(), playbook);
    write_tree(
        dir.path(),
        &[(
            "roles/failing/tasks/main.yml",
            "- name: Fail\n  fail:\n    msg: fail\n",
        )],
    );
    let (ansible, code) = ansible_playbook(dir.path(), &[]);
    assert_eq!(code, 0, "{ansible}");
    assert!(
        ansible.contains("included: failing for localhost => (item=failing)"),
        "{ansible}"
    );
    let ours = dr(dir.path(), &[]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
}

/// A playbook whose handlers include tasks, notified in `tasks` and in `post_tasks`.
const HANDLER_INCLUDE: &str = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command: echo
      notify: h
  post_tasks:
    - command: echo
      notify: h
  handlers:
    - name: h
      include_tasks: inc.yml
"#;

#[test]
fn the_tasks_a_handler_includes_run_as_handlers() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), HANDLER_INCLUDE);
    let (ansible, code) = ansible_playbook(dir.path(), &[]);
    assert_eq!(code, 0, "{ansible}");
    let ours = dr(dir.path(), &[]);
    ours.code(0);
    let handlers = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("RUNNING HANDLER [") || l.starts_with("TASK ["))
            .map(|l| l.trim_end_matches(['*', ' ']).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        handlers(&ours.stdout),
        handlers(&ansible),
        "{}",
        ours.stdout
    );
    ours.stdout_has("RUNNING HANDLER [included task]");
}

#[test]
fn ansible_debug_prints_ansibles_line_for_each_implicit_flush_that_runs_handlers() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), HANDLER_INCLUDE);
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .env("ANSIBLE_DEBUG", "1")
        .current_dir(dir.path())
        .output()
        .expect("ansible-playbook runs");
    let ansible = String::from_utf8_lossy(&out.stdout).into_owned();
    let ours = Dr::new(
        dir.path(),
        &[
            "apply", "--yes", "-i", "inv.yml", "p.yml", "--format", "ansible",
        ],
    )
    .env("ANSIBLE_DEBUG", "1")
    .run();
    ours.code(0);
    let meta = |out: &str| {
        out.lines()
            .filter(|l| l.ends_with(": META: triggered running handlers for localhost"))
            .count()
    };
    assert_eq!(meta(&ansible), 2, "{ansible}");
    assert_eq!(meta(&ours.stdout), 2, "{}", ours.stdout);
    // Without it, nothing of the kind.
    assert_eq!(meta(&dr(dir.path(), &[]).stdout), 0);
}

#[test]
fn a_templated_no_log_hides_or_shows_as_in_ansible() {
    // As roles write it (`no_log: "{{ postgres_users_no_log }}"`): rendered when the task
    // runs, on a task or a block; dr refused it.
    let playbook = "\
- hosts: localhost
  gather_facts: false
  vars:
    hide: true
    show: false
  tasks:
    - command: echo secret-looking-output
      no_log: \"{{ hide }}\"
    - command: echo plain-output
      no_log: \"{{ show }}\"
    - block:
        - debug: msg=in-block
      no_log: \"{{ hide }}\"
";
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), playbook);
    let (ansible, code) = ansible_playbook(dir.path(), &["-v"]);
    assert_eq!(code, 0, "{ansible}");
    let ours = dr(dir.path(), &["-v"]);
    ours.code(0);
    compare(&ansible, &ours.stdout);
    assert!(
        !ours.stdout.contains("secret-looking-output"),
        "{}",
        ours.stdout
    );
    assert!(ours.stdout.contains("plain-output"), "{}", ours.stdout);
}
