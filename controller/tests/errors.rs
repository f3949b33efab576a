//! Bad input gets a located error: `file:line:col`, the message, the source line, a hint.

mod util;

use util::{Dr, write_tree};

const INV: &str = "all:\n  children:\n    db:\n      hosts:\n        db-01:\n        db-02:\n    web:\n      hosts:\n        web-01:\n";

fn graph_error(playbook: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", playbook)]);
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"]).run();
    run.code(1);
    run.stderr
}

#[test]
fn malformed_yaml() {
    let err = graph_error("- name: x\n  hosts: [db\n");
    assert!(
        err.starts_with("error: invalid YAML: unclosed bracket '['\n --> p.yml:2:10\n"),
        "{err}"
    );
    assert!(err.contains("2 |   hosts: [db\n  |          ^"), "{err}");
}

#[test]
fn unknown_module_suggests() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - name: write\n      cpoy:\n        dest: /tmp/x\n",
    );
    assert!(
        err.starts_with("error: unknown module or keyword `cpoy`\n --> p.yml:4:7\n"),
        "{err}"
    );
    assert!(err.contains("= help: did you mean `copy`?"), "{err}");
}

#[test]
fn misspelt_task_keyword() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - name: x\n      command: /bin/true\n      regsiter: out\n",
    );
    assert!(
        err.starts_with("error: unknown module or keyword `regsiter`\n --> p.yml:5:7\n"),
        "{err}"
    );
    assert!(err.contains("did you mean `register`?"), "{err}");
}

#[test]
fn misspelt_play_keyword() {
    let err = graph_error("- hosts: db\n  gather_fact: false\n  tasks: []\n");
    assert!(
        err.starts_with(
            "error: unknown play keyword `gather_fact` ('gather_fact' is not a valid attribute for a Play)\n --> p.yml:2:3\n"
        ),
        "{err}"
    );
    assert!(err.contains("did you mean `gather_facts`?"), "{err}");
}

#[test]
fn a_task_where_a_play_belongs_says_so_in_ansibles_words() {
    // Scripts written for ansible-playbook grep its message.
    let err = graph_error(
        "- include_tasks: other.yml
",
    );
    assert!(
        err.contains("'include_tasks' is not a valid attribute for a Play)\n --> p.yml:1:3\n"),
        "{err}"
    );
}

#[test]
fn unknown_module_argument() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - command:\n        cmd: /bin/true\n        chdri: /tmp\n",
    );
    assert!(
        err.starts_with("error: module `command` has no argument `chdri` in dr\n --> p.yml:5:9\n"),
        "{err}"
    );
    assert!(err.contains("did you mean `chdir`?"), "{err}");
}

#[test]
fn an_argument_error_names_the_module_as_written() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - systemd_service: {name: cron, autoremove: true}\n",
    );
    assert!(
        err.starts_with("error: module `systemd_service` has no argument `autoremove` in dr\n"),
        "{err}"
    );
    assert!(!err.contains("`systemd`"), "{err}");
}

#[test]
fn a_templated_module_name_is_refused_where_written() {
    // (The package-manager fact's template is the one a module name may be: module_template.rs.)
    for task in [
        "action: \"{{ ansible_facts.service_mgr }}\"\n      args: {name: acl}",
        "action:\n        module: \"{{ mgr }}\"\n        name: acl",
    ] {
        let err = graph_error(&format!("- hosts: db\n  tasks:\n    - {task}\n"));
        assert!(err.starts_with("error: the module name `{{"), "{err}");
        // Arguments that are templates are not a templated name.
        let fine =
            "- hosts: db\n  tasks:\n    - action:\n        module: copy dest={{ d }}/x content=y\n";
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", fine)]);
        Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"])
            .run()
            .code(0);
        assert!(err.contains("is a template\n --> p.yml:"), "{err}");
        assert!(err.contains("choose between tasks with `when:`"), "{err}");
    }
}

#[test]
fn two_modules_in_one_task() {
    let err = graph_error("- hosts: db\n  tasks:\n    - command: /bin/true\n      shell: echo\n");
    assert!(
        err.starts_with(
            "error: a task has one module, but this one has `command` and `shell`\n --> p.yml:4:7\n"
        ),
        "{err}"
    );
}

#[test]
fn cycle_lists_every_play() {
    let err = graph_error(
        "- name: a\n  hosts: db\n  after: [c]\n- name: b\n  hosts: db\n  after: [a]\n- name: c\n  hosts: web\n  after: [b]\n",
    );
    assert!(
        err.starts_with(
            "error: plays wait for each other in a cycle: `a` → `b` → `c` → `a`\n --> p.yml:1:3\n"
        ),
        "{err}"
    );
    assert!(err.contains("--> p.yml:4:3: play `b`"), "{err}");
    assert!(err.contains("--> p.yml:7:3: play `c`"), "{err}");
}

#[test]
fn after_unknown_play() {
    let err = graph_error(
        "- name: database\n  hosts: db\n- name: web\n  hosts: web\n  after: [databse]\n",
    );
    assert!(
        err.starts_with("error: `after:` names unknown play `databse`\n --> p.yml:5:11\n"),
        "{err}"
    );
    assert!(err.contains("did you mean `database`?"), "{err}");
}

#[test]
fn play_pattern_matching_nothing() {
    let err = graph_error("- hosts: dbb\n  tasks: []\n");
    assert!(err.starts_with("error: host pattern `dbb` matches no host or group; did you mean `db`?\n --> p.yml:1:10\n"), "{err}");
}

#[test]
fn limit_matching_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("inv.yml", INV), ("p.yml", "- hosts: all\n  tasks: []\n")],
    );
    let run = Dr::new(
        dir.path(),
        &["graph", "p.yml", "-i", "inv.yml", "--limit", "web-1"],
    )
    .run();
    run.code(1)
        .stderr_has("host pattern `web-1` matches no host or group; did you mean `web-01`");
}

#[test]
fn missing_playbook_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("inv.yml", INV)]);
    let run = Dr::new(dir.path(), &["graph", "nope.yml", "-i", "inv.yml"]).run();
    run.code(1)
        .stderr_has("cannot read `nope.yml`: no such file or directory");
}

#[test]
fn missing_inventory_is_a_warning_as_in_ansible_unless_unparsed_fails() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n",
        )],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "nope.yml"])
        .run()
        .code(0)
        .stderr_has("unable to parse `nope.yml` as an inventory source");
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "nope.yml"])
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .run()
        .code(1)
        .stderr_has("nope.yml");
}

#[test]
fn an_include_that_cannot_load_fails_only_where_it_runs_and_handlers_may_include() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("cleanup.yml", "- debug: {msg: cleanup ran}\n"),
            ("win.yml", "- made_up_module: {path: x, state: absent}\n"),
            (
                "p.yml",
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      notify: [cleanup, windows]\n    - include_tasks: win.yml\n      when: on_windows | default(false)\n  handlers:\n    - name: cleanup\n      include_tasks: cleanup.yml\n    - name: windows\n      include_tasks: win.yml\n      when: false\n",
            ),
        ],
    );
    // As Ansible: an include's file is loaded when a host reaches it.
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "localhost,"])
        .run()
        .code(0)
        .stdout_has("cleanup ran")
        .stderr_has("fails on every host that reaches it: ")
        .stderr_has("`made_up_module`");
    Dr::new(
        dir.path(),
        &[
            "apply",
            "p.yml",
            "-i",
            "localhost,",
            "-e",
            "on_windows=true",
        ],
    )
    .run()
    .code(1)
    .stdout_has("`made_up_module`")
    .stdout_has("(win.yml:1:3)");
}

#[test]
fn inventory_unknown_group_key() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  children:\n    db:\n      host:\n        db-01:\n",
            ),
            ("p.yml", "- hosts: all\n"),
        ],
    );
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"]).run();
    run.code(1)
        .stderr_has("error: unknown key `host` in group `db`\n --> inv.yml:4:7")
        .stderr_has("did you mean `hosts`?");
}

#[test]
fn delegate_to_on_a_dynamic_include_is_refused_as_in_ansible() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - include_tasks: t.yml\n      delegate_to: localhost\n",
    );
    assert!(
        err.starts_with(
            "error: `delegate_to` is not a valid keyword of `include_tasks`\n --> p.yml:4:7\n"
        ),
        "{err}"
    );
}

/// `dr plan` of a one-task play that registers its result as `name` (written as YAML).
fn plan_registering(name: &str) -> util::Run {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1: {ansible_connection: local}\n",
            ),
            (
                "p.yml",
                &format!("- hosts: all\n  tasks:\n    - command: 'true'\n      register: {name}\n"),
            ),
        ],
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"]).run()
}

#[test]
fn register_takes_a_variable_name() {
    plan_registering("200")
        .code(1)
        .stderr_has("Invalid 'register' specified: Invalid variable name '200' of type 'int'.")
        .stderr_has("p.yml:4:17");
}

/// A Jinja keyword cannot be resolved as a variable, so Ansible refuses it as a name.
#[test]
fn register_refuses_a_jinja_keyword() {
    plan_registering("'None'")
        .code(1)
        .stderr_has("Invalid 'register' specified: Invalid variable name 'None'.");
}

/// As Ansible, in its words: a block inside a handler's block, or a role as a handler.
#[test]
fn a_nested_block_or_a_role_as_a_handler_is_refused_as_in_ansible() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - debug:\n  handlers:\n    - name: h\n      block:\n        - debug:\n        - block:\n            - debug:\n",
    );
    assert!(
        err.starts_with("error: Using a block as a handler is not supported.\n --> p.yml:8:11\n"),
        "{err}"
    );
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - debug:\n  handlers:\n    - name: h\n      import_role: {name: r}\n",
    );
    assert!(
        err.starts_with(
            "error: Using 'import_role' as a handler is not supported.\n --> p.yml:5:7\n"
        ),
        "{err}"
    );
}

#[test]
fn local_action_with_delegate_to_is_refused_as_in_ansible() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - local_action: command /bin/true\n      delegate_to: db1\n",
    );
    assert!(
        err.starts_with(
            "error: `local_action` and `delegate_to` cannot both be used on a task\n --> p.yml:4:7\n"
        ),
        "{err}"
    );
}

#[test]
fn host_pattern_mismatch_warning_leaves_the_term_out_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- name: typo\n  hosts: db:nosuch\n- name: none\n  hosts: nosuch\n",
            ),
        ],
    );
    // dr's default: an error, so that a typo never skips a play in an incident.
    Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("host pattern `nosuch` matches no host or group");
    // As Ansible with `host_pattern_mismatch = warning`: the term is left out, with a
    // warning; a play left without hosts does not run.
    let run = Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"])
        .env("ANSIBLE_HOST_PATTERN_MISMATCH", "warning")
        .run();
    run.code(0)
        .stdout_has("  typo (p.yml:1:3)\n    hosts: db-01, db-02\n")
        .stdout_has("not run (no hosts after --limit): none")
        .stderr_has("could not match supplied host pattern, ignoring: nosuch");
    Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"])
        .env("ANSIBLE_HOST_PATTERN_MISMATCH", "sometimes")
        .run()
        .code(1)
        .stderr_has("`sometimes` is not one of `error`, `warning`, `ignore`");
}

#[test]
fn a_reserved_argument_name_is_refused_in_ansibles_words() {
    let err = graph_error(
        "- hosts: db\n  tasks:\n    - set_fact:\n        _ansible_foo: bar\n      ignore_errors: true\n",
    );
    assert!(
        err.starts_with(
            "error: Invalid parameter specified beginning with keyword '_ansible_' for action 'set_fact': '_ansible_foo'. The prefix '_ansible_' is reserved for internal use only.\n --> p.yml:4:9\n"
        ),
        "{err}"
    );
    // Free-form actions take any words.
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: db\n  tasks:\n    - command: echo _ansible_x=1\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["graph", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
}

#[test]
fn with_ansibles_output_a_located_error_says_its_message_once() {
    // Scripts count Ansible's messages (`grep -c 'is reserved for internal use only.'`).
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "p.yml",
                "- hosts: db\n  tasks:\n    - set_fact:\n        _ansible_foo: bar\n",
            ),
        ],
    );
    let run = Dr::new(
        dir.path(),
        &[
            "apply", "p.yml", "-i", "inv.yml", "--format", "ansible", "--yes",
        ],
    )
    .run();
    run.code(1);
    assert!(
        run.stderr.starts_with("[ERROR]: Invalid parameter"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .matches("is reserved for internal use only.")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Origin: "), "{}", run.stderr);
    assert!(run.stderr.contains(" --> p.yml:4:9"), "{}", run.stderr);
}
