//! Keywords dr once accepted and then ignored. Each is now honoured as ansible-core 2.19
//! does, or refused at parse time with a located error; these tests fail on a dr that
//! accepts and ignores.

mod util;

use util::{Dr, write_tree};

const INV: &str =
    "all:\n  hosts:\n    h1: {ansible_connection: local}\n    h2: {ansible_connection: local}\n";

fn play(body: &str) -> String {
    format!("- hosts: all\n  gather_facts: false\n{body}")
}

#[test]
fn play_check_mode_true_makes_apply_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  check_mode: true\n  tasks:\n    - command: touch made-{{ inventory_hostname }}\n    - copy: {content: x, dest: copied}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert!(!dir.path().join("made-h1").exists(), "the command ran");
    assert!(!dir.path().join("copied").exists(), "the file was written");
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  any_errors_fatal: true\n  tasks:\n    - fail: {msg: h1 breaks}\n      when: inventory_hostname == 'h1'\n    - command: touch ran-{{ inventory_hostname }}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("`any_errors_fatal`: the task failed on `h1`");
    assert!(!dir.path().join("ran-h2").exists(), "h2 went on");
}

#[test]
fn when_on_import_playbook_decides_which_branch_runs() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("a.yml", &play("  tasks:\n    - command: touch branch-a\n")),
            ("b.yml", &play("  tasks:\n    - command: touch branch-b\n")),
            (
                "site.yml",
                "- import_playbook: a.yml\n  when: branch == 'a'\n- import_playbook: b.yml\n  when: branch == 'b'\n  vars:\n    ignored_here: 1\n",
            ),
        ],
    );
    Dr::new(
        dir.path(),
        &["apply", "site.yml", "-i", "inv.yml", "-e", "branch=b"],
    )
    .run()
    .code(0);
    assert!(
        !dir.path().join("branch-a").exists(),
        "both branches deployed"
    );
    assert!(dir.path().join("branch-b").exists());
}

#[test]
fn play_environment_reaches_commands() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  environment:\n    DR_PLAY_ENV: from-play\n  tasks:\n    - shell: echo \"$DR_PLAY_ENV\" > env-{{ inventory_hostname }}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let got = std::fs::read_to_string(dir.path().join("env-h1")).unwrap();
    assert_eq!(got.trim(), "from-play");
}

#[test]
fn play_connection_and_remote_user_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    // Without `connection: local` this host would be reached over SSH at an address
    // nothing listens on; with it the play runs in process.
    write_tree(
        dir.path(),
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    far: {ansible_host: 127.0.0.1, ansible_port: 1}\n",
            ),
            (
                "p.yml",
                "- hosts: all\n  gather_facts: false\n  connection: local\n  remote_user: nobody-here\n  tasks:\n    - command: touch local-ran\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert!(dir.path().join("local-ran").exists());
}

#[test]
fn become_user_switches_commands_and_fails_other_modules() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  tasks:\n    - command: id -un\n      become: true\n      become_user: nobody\n      register: who\n    - copy:\n        content: \"{{ who.stdout }}\"\n        dest: who-{{ inventory_hostname }}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("who-h1")).unwrap(),
        "nobody"
    );

    let bad = play(
        "  tasks:\n    - block:\n        - apt: {name: curl}\n      become: true\n      become_user: postgres\n",
    );
    write_tree(dir.path(), &[("bad.yml", &bad)]);
    // A module that cannot switch users fails when it would run, in a plan too.
    for cmd in ["plan", "apply"] {
        Dr::new(dir.path(), &[cmd, "bad.yml", "-i", "inv.yml"])
            .run()
            .code(1)
            .stdout_has("this task must run as `postgres` (`become`)")
            .stdout_has("switches users for one task only in command, shell, postgresql_query");
    }
}

#[test]
fn handlers_notified_in_tasks_run_before_post_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(concat!(
        "  pre_tasks:\n    - command: echo pre\n      notify: h\n",
        "  tasks:\n    - shell: echo task >> log-{{ inventory_hostname }}\n      notify: h\n",
        "  post_tasks:\n    - shell: echo post >> log-{{ inventory_hostname }}\n",
        "  handlers:\n    - name: h\n      shell: echo handler >> log-{{ inventory_hostname }}\n",
    ));
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let log = std::fs::read_to_string(dir.path().join("log-h1")).unwrap();
    assert_eq!(log, "handler\ntask\nhandler\npost\n");
}

#[test]
fn notify_and_when_on_import_tasks_apply_to_each_task() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "t.yml",
                "- shell: echo imported >> log-{{ inventory_hostname }}\n",
            ),
            (
                "p.yml",
                &play(concat!(
                    "  tasks:\n    - import_tasks: t.yml\n      notify: h\n      when: inventory_hostname == 'h1'\n",
                    "  handlers:\n    - name: h\n      shell: echo handler >> log-{{ inventory_hostname }}\n",
                )),
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let log = std::fs::read_to_string(dir.path().join("log-h1")).unwrap();
    assert_eq!(log, "imported\nhandler\n");
    assert!(!dir.path().join("log-h2").exists());
}

#[test]
fn loop_control_break_when_stops_the_loop_and_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  tasks:\n    - shell: echo {{ item }} >> log-{{ inventory_hostname }}\n      loop: [1, 2, 3]\n      loop_control:\n        break_when: item == 2\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let log = std::fs::read_to_string(dir.path().join("log-h1")).unwrap();
    assert_eq!(log, "1\n2\n");

    let bad = play(
        "  tasks:\n    - debug: msg={{ item }}\n      loop: [1]\n      loop_control:\n        loopvar: x\n",
    );
    write_tree(dir.path(), &[("bad.yml", &bad)]);
    Dr::new(dir.path(), &["apply", "bad.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("unknown `loop_control` key `loopvar`")
        .stderr_has("bad.yml:7:9")
        .stderr_has("did you mean `loop_var`?");
}

#[test]
fn unsafe_values_are_never_templated() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  vars:\n    raw: !unsafe '{{ nope }}'\n    list: [!unsafe '{% x %}', b]\n    text: \"keep [!unsafe '{{ 1 }}'] as text\"\n  tasks:\n    - copy:\n        content: \"{{ raw }} {{ list | first }} {{ text }}\"\n        dest: out-{{ inventory_hostname }}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let got = std::fs::read_to_string(dir.path().join("out-h1")).unwrap();
    assert_eq!(got, "{{ nope }} {% x %} keep [!unsafe '1'] as text");

    // A block scalar keeps its text too, line breaks included.
    let block = play(
        "  vars:\n    raw: !unsafe |\n      {{ nope }}\n\n      {% x %}\n  tasks:\n    - copy:\n        content: \"{{ raw }}\"\n        dest: block-{{ inventory_hostname }}\n",
    );
    write_tree(dir.path(), &[("block.yml", &block)]);
    Dr::new(dir.path(), &["apply", "block.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let got = std::fs::read_to_string(dir.path().join("block-h1")).unwrap();
    assert_eq!(got, "{{ nope }}\n\n{% x %}\n");

    // On a collection, the tag is refused where it stands.
    let list = play("  vars:\n    raw: !unsafe ['{{ nope }}']\n  tasks: []\n");
    write_tree(dir.path(), &[("list.yml", &list)]);
    Dr::new(dir.path(), &["plan", "list.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("`!unsafe` is supported on a scalar only")
        .stderr_has("list.yml:4:10");
}

#[test]
fn every_ansible_keyword_dr_does_not_run_is_refused_with_its_location() {
    use dr::playbook::keywords::{
        ANSIBLE_BLOCK, ANSIBLE_PLAY, ANSIBLE_ROLE, ANSIBLE_TASK, BLOCK_SUPPORTED, PLAY_SUPPORTED,
        ROLE_SUPPORTED, TASK_SUPPORTED,
    };
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("roles/r/tasks/main.yml", "- debug: msg=r\n"),
        ],
    );
    let levels: [(&str, &[&str], &[&str]); 4] = [
        ("play", ANSIBLE_PLAY, PLAY_SUPPORTED),
        ("block", ANSIBLE_BLOCK, BLOCK_SUPPORTED),
        ("task", ANSIBLE_TASK, TASK_SUPPORTED),
        ("role", ANSIBLE_ROLE, ROLE_SUPPORTED),
    ];
    for (level, all, supported) in levels {
        for kw in all.iter().filter(|k| !supported.contains(k)) {
            let value = "x";
            let book = match level {
                "play" => format!("- hosts: all\n  {kw}: {value}\n  tasks: []\n"),
                "block" => format!(
                    "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=a\n      {kw}: {value}\n"
                ),
                "task" => {
                    format!("- hosts: all\n  tasks:\n    - debug: msg=a\n      {kw}: {value}\n")
                }
                _ => format!("- hosts: all\n  roles:\n    - role: r\n      {kw}: {value}\n"),
            };
            let file = format!("{level}-{kw}.yml");
            write_tree(dir.path(), &[(&file, &book)]);
            let out = Dr::new(dir.path(), &["graph", &file, "-i", "inv.yml"]).run();
            out.code(1);
            let line = book
                .lines()
                .position(|l| l.trim_start().starts_with(&format!("{kw}:")))
                .unwrap()
                + 1;
            out.stderr_has(&format!("{file}:{line}:"));
            out.stderr_has(&format!("`{kw}`"));
        }
    }
}

#[test]
fn run_once_runs_once_per_serial_batch() {
    let dir = tempfile::tempdir().unwrap();
    let inv = "all:\n  hosts:\n    a: {ansible_connection: local}\n    b: {ansible_connection: local}\n    c: {ansible_connection: local}\n";
    let p = play(
        "  serial: 2\n  tasks:\n    - command: touch once-{{ inventory_hostname }}-{{ ansible_play_batch | join('+') }}\n      run_once: true\n",
    );
    write_tree(dir.path(), &[("inv.yml", inv), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let mut made: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with("once-"))
        .collect();
    made.sort();
    assert_eq!(made, ["once-a-a+b", "once-c-c"]);
}

#[test]
fn a_destructive_step_in_a_templated_include_is_never_run_unconfirmed() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  vars:\n    kind: rebuild\n  tasks:\n    - command: touch before\n    - include_tasks: \"{{ kind }}.yml\"\n",
    );
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("p.yml", &p),
            (
                "rebuild.yml",
                "- name: wipe and rebuild\n  postgres_replica:\n    data_dir: /nonexistent/dr-test\n    primary_host: 127.0.0.1\n    replication_user: r\n    destroy_data: true\n",
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("was not confirmed before the run");
    assert!(!dir.path().join("before").exists(), "the play started");
}

#[test]
fn ignore_unreachable_on_the_whole_play_lets_the_run_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let inv = "all:\n  hosts:\n    gone: {ansible_host: 127.0.0.1, ansible_port: 1}\n    here: {ansible_connection: local}\n";
    let book = concat!(
        "- hosts: gone\n  gather_facts: false\n  tasks:\n    - command: pg_ctl stop\n      ignore_unreachable: true\n",
        "- hosts: here\n  gather_facts: false\n  tasks:\n    - command: touch went-on\n",
    );
    write_tree(dir.path(), &[("inv.yml", inv), ("p.yml", book)]);
    Dr::new(
        dir.path(),
        &["apply", "p.yml", "-i", "inv.yml", "--connect-timeout", "2"],
    )
    .run()
    .code(0)
    .stdout_has("unreachable, ignored");
    assert!(dir.path().join("went-on").exists());

    let partial = play(
        "  tasks:\n    - command: 'true'\n      ignore_unreachable: true\n    - command: 'true'\n",
    );
    write_tree(dir.path(), &[("partial.yml", &partial)]);
    Dr::new(dir.path(), &["graph", "partial.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("partial.yml:4:7")
        .stderr_has("on some tasks of a play only");
}

#[test]
fn role_statement_arguments_are_honoured_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  roles: [r]\n  tasks:\n    - import_role:\n        name: r\n        allow_duplicates: true\n",
    );
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "roles/r/tasks/main.yml",
                "- shell: echo r >> log-{{ inventory_hostname }}\n",
            ),
            ("roles/spec/tasks/main.yml", "- debug: msg=x\n"),
            (
                "roles/spec/meta/argument_specs.yml",
                "argument_specs: {main: {options: {}}}\n",
            ),
            ("p.yml", &p),
            ("spec.yml", &play("  roles: [spec]\n")),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    let log = std::fs::read_to_string(dir.path().join("log-h1")).unwrap();
    assert_eq!(log, "r\nr\n", "allow_duplicates on import_role was ignored");
    // A declared argument spec is checked first, as Ansible's validation task.
    Dr::new(dir.path(), &["plan", "spec.yml", "-i", "inv.yml"])
        .run()
        .code(0)
        .stdout_has("Validating arguments against arg spec 'main'");
}

#[test]
fn include_vars_refuses_a_file_of_another_extension_unless_told_to_skip_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = |skip: &str| {
        play(&format!(
            "  tasks:\n    - include_vars:\n        dir: vars\n        ignore_unknown_extensions: {skip}\n    - copy: {{content: \"{{{{ a }}}}\", dest: \"out-{{{{ inventory_hostname }}}}\"}}\n"
        ))
    };
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            ("vars/a.yml", "a: one\n"),
            ("vars/notes.txt", "b: two\n"),
            ("strict.yml", &p("false")),
            ("lenient.yml", &p("true")),
        ],
    );
    Dr::new(dir.path(), &["apply", "strict.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("does not have a valid extension");
    Dr::new(dir.path(), &["apply", "lenient.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out-h1")).unwrap(),
        "one"
    );
}

#[test]
fn play_force_handlers_false_wins_over_the_command_line() {
    // As Ansible: the play's keyword, when it says it, beats `--force-handlers`.
    let dir = tempfile::tempdir().unwrap();
    let handlers =
        "  handlers:\n    - name: h\n      command: touch handled-{{ inventory_hostname }}\n";
    let tasks = "  tasks:\n    - command: \"true\"\n      notify: h\n    - fail: {msg: stop}\n";
    let no = play(&format!("  force_handlers: false\n{tasks}{handlers}"));
    let yes = play(&format!("  force_handlers: true\n{tasks}{handlers}"));
    write_tree(
        dir.path(),
        &[("inv.yml", INV), ("no.yml", &no), ("yes.yml", &yes)],
    );
    Dr::new(
        dir.path(),
        &[
            "apply",
            "no.yml",
            "-i",
            "inv.yml",
            "--force-handlers",
            "--yes",
        ],
    )
    .run()
    .code(1);
    assert!(!dir.path().join("handled-h1").exists(), "the handler ran");
    Dr::new(dir.path(), &["apply", "yes.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(1);
    assert!(
        dir.path().join("handled-h1").exists(),
        "the handler did not run"
    );
}

#[test]
fn a_role_handlers_listen_topic_is_also_heard_under_the_roles_name() {
    // As Ansible: `listen: topic` in role `r` also listens to `r : topic` (and a
    // collection's role `ns.col.r` to `ns.col.r : topic` and `r : topic`).
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INV),
            (
                "roles/r/handlers/main.yml",
                "- name: h\n  command: touch heard-{{ inventory_hostname }}\n  listen: topic\n",
            ),
            ("roles/r/tasks/main.yml", "- command: \"true\"\n"),
            (
                "collections/ansible_collections/ns/col/roles/c/handlers/main.yml",
                "- name: hc\n  command: touch heard-c-{{ inventory_hostname }}\n  listen: topic\n",
            ),
            (
                "collections/ansible_collections/ns/col/roles/c/tasks/main.yml",
                "- command: \"true\"\n",
            ),
            (
                "p.yml",
                &play(
                    "  roles: [r, ns.col.c]\n  tasks:\n    - command: \"true\"\n      notify: ['r : topic', 'c : topic']\n",
                ),
            ),
        ],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(0);
    assert!(
        dir.path().join("heard-h1").exists(),
        "the handler did not run"
    );
    assert!(
        dir.path().join("heard-c-h1").exists(),
        "the collection role's handler did not run"
    );
}

#[test]
fn error_on_missing_handler_false_makes_a_missing_handler_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = play("  tasks:\n    - command: \"true\"\n      notify: nowhere\n");
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(1);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .env("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")
        .run()
        .code(0)
        .stdout_has("The requested handler 'nowhere' was not found");
    write_tree(
        dir.path(),
        &[(
            "ansible.cfg",
            "[defaults]\nerror_on_missing_handler = False\n",
        )],
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(0);
}

#[test]
fn become_mechanism_vars_of_a_task_or_block_are_refused_where_written() {
    // `ansible_become`/`_user` there are honoured (`become_vars.rs`), sudo and su with the
    // flags dr's escalation is the same as (`escalation.rs`); another method, or flags
    // that would change what the task sees, dr would not use.
    for (body, at) in [
        (
            "  tasks:\n    - command: whoami\n      vars:\n        ansible_become: true\n        ansible_become_method: doas\n",
            "p.yml:7:32",
        ),
        (
            "  tasks:\n    - block:\n        - command: whoami\n      vars: {ansible_become_flags: -i}\n",
            "p.yml:6:36",
        ),
        (
            "  tasks:\n    - command: whoami\n      become: true\n      become_flags: -E\n",
            "p.yml:6:21",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &play(body))]);
        Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
            .run()
            .code(1)
            .stderr_has(at)
            .stderr_has("is not supported by dr");
    }
}

#[test]
fn a_package_task_for_other_package_managers_fails_only_where_it_runs() {
    // `package: {enablerepo: epel}` is a RedHat host's: Ansible fails it on Debian only
    // when it runs (`apt` does not take the argument); dr refused the whole playbook.
    let dir = tempfile::tempdir().unwrap();
    let p = play(concat!(
        "  tasks:\n",
        "    - package: {name: fail2ban, enablerepo: epel}\n      when: false\n",
        "    - command: touch ran-{{ inventory_hostname }}\n",
        "    - package: {name: fail2ban, enablerepo: epel}\n      when: inventory_hostname == 'h1'\n",
    ));
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("Unsupported parameters for (package) module: enablerepo");
    assert!(dir.path().join("ran-h1").exists() && dir.path().join("ran-h2").exists());
    // An argument no package manager has is still refused where it is written.
    let bad = play("  tasks:\n    - package: {name: curl, no_such_arg: 1}\n");
    write_tree(dir.path(), &[("bad.yml", &bad)]);
    Dr::new(dir.path(), &["plan", "bad.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("bad.yml:4:29");
}

#[test]
fn unsafe_writes_is_taken_by_the_file_modules() {
    // Ansible's common file argument (writes fall back to in place when a rename over a
    // bind-mounted file fails; `fsutil` tests that): dr refused it.
    let dir = tempfile::tempdir().unwrap();
    let p = play(
        "  tasks:\n    - lineinfile: {path: \"{{ playbook_dir }}/f-{{ inventory_hostname }}\", line: a=1, create: true, unsafe_writes: true}\n",
    );
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f-h1")).unwrap(),
        "a=1\n"
    );
}

#[test]
fn a_task_for_another_kind_of_host_fails_only_where_it_runs() {
    // Roles for several systems pick their tasks with `when` (`dnf` on RedHat, `apt` on
    // Debian): Ansible fails the `dnf` task on a Debian host only when it runs; dr refused
    // the whole playbook.
    let dir = tempfile::tempdir().unwrap();
    let p = play(concat!(
        "  tasks:\n",
        "    - ansible.builtin.dnf: {name: httpd}\n      when: ansible_os_family | default('Debian') == 'RedHat'\n",
        "    - win_file: {path: 'C:\\\\x', state: absent}\n      when: false\n",
        "    - command: touch ran-{{ inventory_hostname }}\n",
        "    - yum: {name: httpd}\n      when: inventory_hostname == 'h1'\n",
    ));
    write_tree(dir.path(), &[("inv.yml", INV), ("p.yml", &p)]);
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stdout_has("`yum` is for another kind of host")
        .stdout_has("p.yml:9:7");
    assert!(dir.path().join("ran-h1").exists() && dir.path().join("ran-h2").exists());
}
