//! The test bed as an Ansible YAML inventory.

use std::fmt::Write as _;
use std::path::Path;

use crate::host::Host;
use crate::topology::GROUPS;

/// The inventory text for `hosts`: every group of [`GROUPS`] (empty ones too), each
/// host with `ansible_host`, `ansible_port`, `ansible_user` and the private key.
pub fn render(hosts: &[Host], private_key: &Path, run_id: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# dr test bed, run {run_id}");
    out.push_str("all:\n  children:\n");
    for group in GROUPS {
        let members: Vec<&Host> = hosts
            .iter()
            .filter(|h| h.groups.iter().any(|g| g == group))
            .collect();
        let _ = writeln!(out, "    {group}:");
        if members.is_empty() {
            out.push_str("      hosts: {}\n");
            continue;
        }
        out.push_str("      hosts:\n");
        for host in members {
            let _ = writeln!(out, "        {}:", host.name);
            let _ = writeln!(out, "          ansible_host: {}", host.address);
            let _ = writeln!(out, "          ansible_port: {}", Host::SSH_PORT);
            let _ = writeln!(out, "          ansible_user: {}", Host::SSH_USER);
            let _ = writeln!(
                out,
                "          ansible_ssh_private_key_file: {}",
                yaml_string(&private_key.to_string_lossy())
            );
        }
    }
    out
}

/// A double-quoted YAML scalar.
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn groups_hosts_with_their_connection() {
        let hosts = vec![
            Host {
                name: "akira-db-01".into(),
                container: "c1".into(),
                address: Ipv4Addr::new(10, 1, 2, 11),
                groups: vec!["database".into()],
            },
            Host {
                name: "akira-sig-01".into(),
                container: "c2".into(),
                address: Ipv4Addr::new(10, 1, 2, 31),
                groups: vec!["signaling".into()],
            },
        ];
        let text = render(&hosts, Path::new("/k/id"), "r1");
        assert_eq!(
            text,
            "# dr test bed, run r1\n\
             all:\n  children:\n\
             \x20   database:\n      hosts:\n        akira-db-01:\n\
             \x20         ansible_host: 10.1.2.11\n          ansible_port: 22\n\
             \x20         ansible_user: root\n          ansible_ssh_private_key_file: \"/k/id\"\n\
             \x20   stateful:\n      hosts: {}\n\
             \x20   management:\n      hosts: {}\n\
             \x20   signaling:\n      hosts:\n        akira-sig-01:\n\
             \x20         ansible_host: 10.1.2.31\n          ansible_port: 22\n\
             \x20         ansible_user: root\n          ansible_ssh_private_key_file: \"/k/id\"\n\
             \x20   backup:\n      hosts: {}\n\
             \x20   pgbouncer:\n      hosts: {}\n\
             \x20   pg_auto_failover_monitor:\n      hosts: {}\n\
             \x20   pg_auto_failover_nodes:\n      hosts: {}\n"
        );
    }
}
