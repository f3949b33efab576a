//! `-i 'web1,web2:2222,'`: a comma-separated list of hosts instead of an inventory file, as
//! Ansible's `host_list` plugin reads it. A source is a list when it holds a comma and is
//! not an existing path; its hosts join `ungrouped`, and no `group_vars/` apply to it.

use std::path::Path;

use serde_json::Map;

use super::address;
use super::ini_text;
use super::model::{Host, Inventory};

/// Whether `source` is a host list rather than a path.
pub(super) fn is_host_list(source: &Path) -> bool {
    !source.exists() && source.to_string_lossy().contains(',')
}

/// Adds the hosts of `list` to `inv`. An address that does not parse (`h[1:3]`: ranges are
/// not expanded here) is taken whole; a host already known is left alone.
pub(super) fn read(inv: &mut Inventory, list: &str) {
    for item in list.split(',') {
        let (item, _) = ini_text::strip(item);
        if item.is_empty() {
            continue;
        }
        let (name, port) =
            address::parse_address(item, false).unwrap_or_else(|| (item.to_owned(), None));
        if inv.hosts.contains_key(&name) {
            continue;
        }
        let mut vars = Map::new();
        if let Some(port) = port.filter(address::is_set) {
            vars.insert("ansible_port".into(), port);
        }
        inv.hosts.insert(
            name.clone(),
            Host {
                name: name.clone(),
                vars,
                file_vars: Map::new(),
                loc: None,
            },
        );
        if let Some(ungrouped) = inv.groups.get_mut("ungrouped") {
            ungrouped.hosts.insert(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::Group;
    use serde_json::json;

    #[test]
    fn hosts_ports_and_unparsed_names() {
        let mut inv = Inventory::default();
        inv.groups
            .insert("ungrouped".into(), Group::new("ungrouped", None));
        read(&mut inv, "h1, h2:22 ,,[::1]:33,h[1:2],h1:99");
        let names: Vec<&str> = inv.hosts().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["h1", "h2", "::1", "h[1:2]"]);
        assert_eq!(inv.host("h2").unwrap().vars["ansible_port"], json!(22));
        assert_eq!(inv.host("::1").unwrap().vars["ansible_port"], json!(33));
        assert!(inv.host("h1").unwrap().vars.is_empty());
        assert_eq!(inv.group("ungrouped").unwrap().hosts.len(), 4);
    }

    #[test]
    fn a_comma_in_an_existing_path_is_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a,b");
        std::fs::write(&file, "x\n").unwrap();
        assert!(!is_host_list(&file));
        assert!(is_host_list(Path::new("no-such-a,b")));
        assert!(!is_host_list(Path::new("no-such-file")));
    }
}
