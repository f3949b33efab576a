//! What Ansible's `reconcile_inventory` does once every source is read: groups without a
//! parent join `all`; a host in `ungrouped` that has another group (or whose `ungrouped`
//! has a parent) leaves it; a host in no group but `all` joins `ungrouped`.

use std::collections::{HashMap, HashSet};

use indexmap::IndexSet;

use super::model::Inventory;

/// Links parentless groups to `all` and settles `ungrouped`, as Ansible does.
pub(super) fn reconcile(inv: &mut Inventory) {
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for group in inv.groups.values() {
        for child in &group.children {
            parents
                .entry(child.clone())
                .or_default()
                .push(group.name.clone());
        }
    }
    let orphans: Vec<String> = inv
        .groups
        .keys()
        .filter(|name| *name != "all" && !parents.contains_key(*name))
        .cloned()
        .collect();
    for orphan in orphans {
        parents
            .entry(orphan.clone())
            .or_default()
            .push("all".into());
        if let Some(all) = inv.groups.get_mut("all") {
            all.children.insert(orphan);
        }
    }
    let mut direct: HashMap<String, Vec<String>> = HashMap::new();
    for group in inv.groups.values() {
        for host in &group.hosts {
            direct
                .entry(host.clone())
                .or_default()
                .push(group.name.clone());
        }
    }
    let hosts: Vec<String> = inv.hosts.keys().cloned().collect();
    for host in hosts {
        let mut mine: HashSet<String> = HashSet::new();
        for group in direct.get(&host).into_iter().flatten() {
            mine.insert(group.clone());
            mine.extend(ancestors(&parents, group));
        }
        let others = mine.iter().any(|g| g != "all" && g != "ungrouped");
        if mine.contains("ungrouped") {
            if others && let Some(ungrouped) = inv.groups.get_mut("ungrouped") {
                ungrouped.hosts.shift_remove(&host);
            }
        } else if !others {
            // Ansible's `add_child("ungrouped", name)` takes a group of that name first.
            let group_named_so = inv.groups.contains_key(&host)
                && host != "all"
                && host != "ungrouped"
                && !ancestors(&parents, "ungrouped").contains(&host);
            if let Some(ungrouped) = inv.groups.get_mut("ungrouped") {
                if group_named_so {
                    ungrouped.children.insert(host.clone());
                    parents.entry(host).or_default().push("ungrouped".into());
                } else {
                    ungrouped.hosts.insert(host);
                }
            }
        }
    }
    if let Some(all) = inv.groups.get_mut("all") {
        // Ansible lists no hosts under `all`; `ungrouped` comes first among its children.
        all.hosts.clear();
        let mut children = IndexSet::new();
        children.insert("ungrouped".to_owned());
        children.extend(all.children.iter().filter(|c| *c != "ungrouped").cloned());
        all.children = children;
    }
}

fn ancestors(parents: &HashMap<String, Vec<String>>, group: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut todo = vec![group.to_owned()];
    while let Some(g) = todo.pop() {
        for parent in parents.get(&g).into_iter().flatten() {
            if seen.insert(parent.clone()) {
                todo.push(parent.clone());
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::{Group, Host};
    use serde_json::Map;

    fn inventory(groups: &[(&str, &[&str], &[&str])]) -> Inventory {
        let mut inv = Inventory::default();
        for name in ["all", "ungrouped"] {
            inv.groups.insert(name.into(), Group::new(name, None));
        }
        for (name, hosts, children) in groups {
            let group = inv
                .groups
                .entry(name.to_string())
                .or_insert_with(|| Group::new(name, None));
            group.hosts.extend(hosts.iter().map(|h| h.to_string()));
            group
                .children
                .extend(children.iter().map(|c| c.to_string()));
            for h in *hosts {
                inv.hosts.insert(
                    h.to_string(),
                    Host {
                        name: h.to_string(),
                        vars: Map::new(),
                        file_vars: Map::new(),
                        loc: None,
                    },
                );
            }
        }
        inv
    }

    fn list(set: &IndexSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn orphans_join_all_and_lonely_hosts_join_ungrouped() {
        let mut inv = inventory(&[
            ("all", &["a"], &[]),
            ("ungrouped", &["b", "c"], &[]),
            ("web", &["c"], &[]),
            ("prod", &[], &["web"]),
        ]);
        reconcile(&mut inv);
        let all = inv.group("all").unwrap();
        assert_eq!(list(&all.children), ["ungrouped", "prod"]);
        assert!(all.hosts.is_empty());
        assert_eq!(list(&inv.group("ungrouped").unwrap().hosts), ["b", "a"]);
    }

    #[test]
    fn a_lonely_host_named_like_a_group_brings_the_group() {
        let mut inv = inventory(&[("all", &["web"], &[]), ("web", &[], &[])]);
        reconcile(&mut inv);
        let ungrouped = inv.group("ungrouped").unwrap();
        assert!(ungrouped.hosts.is_empty());
        assert_eq!(list(&ungrouped.children), ["web"]);
    }
}
