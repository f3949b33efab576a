//! A delegated task whose host cannot be reached is unreachable, as in Ansible: only
//! `ignore_unreachable` lets the host go on (`ignore_errors` does not), the registered
//! result says `unreachable`, and the `reachable`/`unreachable` tests read it. The oracle
//! (ansible-playbook) writes the same log. The unreachable host is a closed loopback port.

mod util;

use util::Dr;

const INVENTORY: &str = "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n\
unreachable ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1011\n";

const PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command: id
      delegate_to: unreachable
      ignore_unreachable: true
      register: u
    - shell: echo "{{ u is reachable }} {{ u is unreachable }} {{ u.unreachable }} {{ u.failed | default('none') }}" >> {{ playbook_dir }}/out/log
    - command: id
      delegate_to: unreachable
      ignore_errors: true
    - shell: echo "not reached" >> {{ playbook_dir }}/out/log
"#;

#[test]
fn only_ignore_unreachable_lets_the_host_go_on_from_an_unreachable_delegate() {
    let write = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("inventory"), INVENTORY).unwrap();
        std::fs::write(dir.join("site.yml"), PLAY).unwrap();
    };
    let ansible = tempfile::tempdir().unwrap();
    write(ansible.path());
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inventory", "site.yml"])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    assert_eq!(
        out.status.code(),
        Some(4),
        "Ansible: the host is unreachable\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dr = tempfile::tempdir().unwrap();
    write(dr.path());
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory", "--yes"],
    )
    .run()
    .code(1)
    .stdout_has("unreachable: cannot connect to `unreachable`");
    let log = util::outputs(dr.path())["log"].clone();
    assert_eq!(log, util::outputs(ansible.path())["log"]);
    assert_eq!(log, "False True True none\n");
}

#[test]
fn ignore_unreachable_on_a_delegated_task_only_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("site.yml"), PLAY).unwrap();
    // Was refused: `ignore_unreachable` on some tasks of a play only.
    Dr::new(dir.path(), &["graph", "site.yml", "-i", "inventory"])
        .run()
        .code(0);
}
