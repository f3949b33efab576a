//! A play with `ignore_unreachable` on a host that cannot be reached, against the oracle
//! (ansible-playbook 2.19): every task that needs the host is unreachable and ignored (its
//! registered result says so), the tasks Ansible runs on the controller still run, and the
//! recap counts each ignored task, as Ansible's does.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

fn recap(out: &str) -> String {
    out.lines()
        .rev()
        .find(|l| l.starts_with("far "))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn each_task_on_an_unreachable_host_is_ignored_as_in_ansible() {
    let ansible = util::fixture("unreachable_ignored");
    let said = util::ansible("ansible-playbook")
        .args(["-i", "inventory.yml", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    let dr = util::fixture("unreachable_ignored");
    let run = util::Dr::new(
        dr.path(),
        &[
            "apply",
            "site.yml",
            "-i",
            "inventory.yml",
            "--yes",
            "--format",
            "ansible",
        ],
    )
    .run();
    run.code(0).stdout_has("fatal: [far]: UNREACHABLE! => ");
    assert_eq!(util::outputs(dr.path()), util::outputs(ansible.path()));
    assert_eq!(
        util::outputs(dr.path())["log"],
        "True True False False\nstill here 1\n"
    );
    assert_eq!(
        recap(&run.stdout),
        recap(&String::from_utf8_lossy(&said.stdout))
    );
    assert!(recap(&run.stdout).contains("ignored=1"), "{}", run.stdout);
}

#[test]
fn at_vvv_a_modules_result_shows_what_it_ran_with() {
    let dir = util::fixture("unreachable_ignored");
    std::fs::write(
        dir.path().join("ping.yml"),
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - ping: {data: pong}\n    - debug: {msg: hi}\n",
    )
    .unwrap();
    let run = util::Dr::new(
        dir.path(),
        &[
            "apply",
            "ping.yml",
            "-i",
            "inventory.yml",
            "--yes",
            "--format",
            "ansible",
            "-vvv",
        ],
    )
    .run();
    run.code(0)
        .stdout_has("\"module_args\": {\n            \"data\": \"pong\"");
    assert_eq!(
        run.stdout.matches("module_args").count(),
        1,
        "{}",
        run.stdout
    );
}
