//! An unknown filter or test in a task is refused when the playbook is read, with the
//! task's location and the closest known name; known ones (short, FQCN, collection filters
//! dr has) pass. A task whose failure the playbook ignores fails when it runs instead, with
//! Ansible's message, and the play goes on (as in Ansible).

mod util;

use util::Dr;

fn playbook(dir: &std::path::Path, task: &str) {
    util::write_tree(
        dir,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
            ),
            (
                "p.yml",
                &format!(
                    "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch ran\n{task}"
                ),
            ),
        ],
    );
}

#[test]
fn an_unknown_filter_is_refused_with_a_suggestion_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "    - debug:\n        msg: \"{{ {'a': 1} | to_jsn }}\"\n",
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:7")
        .stderr_has("filter `to_jsn` is not supported by dr")
        .stderr_has("did you mean `to_json`?");
    assert!(
        !dir.path().join("ran").exists(),
        "a task ran before the refusal"
    );
}

#[test]
fn an_unknown_test_in_a_condition_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "    - debug:\n        msg: hi\n      when: r is not sucess\n",
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:7")
        .stderr_has("test `sucess` is not supported by dr")
        .stderr_has("did you mean `success`?");
}

#[test]
fn an_unknown_filter_in_an_assert_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "    - assert:\n        that:\n          - 1 == 1\n          - \"[1] | flaten == [1]\"\n",
    );
    Dr::new(dir.path(), &["plan", "p.yml", "-i", "inv.yml"])
        .run()
        .code(1)
        .stderr_has("p.yml:5:7")
        .stderr_has("filter `flaten` is not supported by dr")
        .stderr_has("did you mean `flatten`?");
}

#[test]
fn known_filters_and_tests_pass_and_render() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        concat!(
            "    - copy:\n",
            "        dest: \"{{ playbook_dir }}/out\"\n",
            "        content: \"{{ [1, [2]] | ansible.builtin.flatten | to_json }} {{ {'a': {'b': 1} } | community.general.json_query('a.b') }} {{ '10.0.0.1/8' | ansible.utils.ipaddr('network') }} {{ 'a|b' | regex_replace('[|]', '-') }} {{ '2.1' is version('2.0', '>') }}\"\n",
            "      when: \"'x | nope' is string and [1] is ansible.builtin.subset([1, 2])\"\n",
        ),
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out")).unwrap(),
        "[1, 2] 1 10.0.0.0 a-b True"
    );
}

#[test]
fn an_unknown_name_in_a_task_whose_failure_is_ignored_fails_when_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "    - raw: echo {{ '' | nope }}\n      ignore_errors: true\n      register: f\n\
         \x20   - raw: echo {{ '' is nope }}\n      ignore_errors: true\n      register: t\n\
         \x20   - raw: echo {{ lookup('nope') }}\n      ignore_errors: true\n      register: l\n\
         \x20   - copy:\n        dest: \"{{ playbook_dir }}/msgs\"\n        content: \"{{ [f.msg, t.msg, l.msg] | join('\\n') }}\"\n",
    );
    Dr::new(dir.path(), &["apply", "p.yml", "-i", "inv.yml", "--yes"])
        .run()
        .code(0);
    let msgs = std::fs::read_to_string(dir.path().join("msgs")).unwrap();
    for text in [
        "No filter named 'nope'.",
        "No test named 'nope'.",
        "The lookup plugin 'nope' was not found",
    ] {
        assert!(msgs.contains(text), "no `{text}` in:\n{msgs}");
    }
}
