//! `sysctl` and `authorized_key` of ansible.posix run natively, under their short and
//! fully qualified names: a plan changes nothing and shows the change, an apply writes the
//! files, and a plan after it finds nothing to do. (ansible.posix is not part of
//! ansible-core, so there is no oracle run here; the modules' unit tests follow the
//! collection's source.) Runs as root, as the test bed does: the keys belong to root.

mod util;

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    box:\n      ansible_connection: local\n";

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrtest drtest@example";

fn playbook(dir: &std::path::Path) -> String {
    format!(
        r#"- hosts: box
  gather_facts: false
  tasks:
    - ansible.posix.sysctl:
        name: vm.swappiness
        value: "10"
        sysctl_file: {d}/sysctl.conf
        reload: false
    - sysctl:
        key: net.ipv4.ip_forward
        val: true
        sysctl_file: {d}/sysctl.conf
        reload: false
    - ansible.posix.authorized_key:
        user: root
        key: "{KEY}"
        path: {d}/keys/authorized_keys
        manage_dir: false
        key_options: no-pty
"#,
        d = dir.display()
    )
}

#[test]
fn sysctl_and_authorized_key_plan_apply_and_converge() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write_tree(cwd, &[("inv.yml", INVENTORY), ("site.yml", &playbook(cwd))]);
    let conf = cwd.join("sysctl.conf");
    let keys = cwd.join("keys/authorized_keys");

    Dr::new(cwd, &["plan", "site.yml", "-i", "inv.yml"])
        .run()
        .code(2)
        .stdout_has("+vm.swappiness=10")
        .stdout_has("+no-pty ssh-ed25519");
    assert!(!conf.exists() && !keys.exists(), "the plan wrote a file");

    Dr::new(cwd, &["apply", "site.yml", "-i", "inv.yml"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "vm.swappiness=10\nnet.ipv4.ip_forward=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(&keys).unwrap(),
        format!("no-pty {KEY}\n")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    Dr::new(cwd, &["plan", "site.yml", "-i", "inv.yml"])
        .run()
        .code(0);
}
