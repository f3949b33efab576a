//! What Ansible's `reconcile_inventory` does once every source is read: groups without a
//! parent join `all`; a host in `ungrouped` that has another group (or whose `ungrouped`
//! has a parent) leaves it; a host in no group but `all` joins `ungrouped`.

use std::collections::HashSet;

use indexmap::IndexSet;

use super::model::Inventory;

/// Links parentless groups to `all` and settles `ungrouped`, as Ansible does. Groups are
/// handled by position and each host's groups are marked in one shared array, so this is
/// linear in the inventory.
pub(super) fn reconcile(inv: &mut Inventory) {
    let all = inv.groups.get_index_of("all");
    let ungrouped = inv.groups.get_index_of("ungrouped");
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); inv.groups.len()];
    for (at, group) in inv.groups.values().enumerate() {
        for child in &group.children {
            if let Some(child) = inv.groups.get_index_of(child) {
                parents[child].push(at);
            }
        }
    }
    let orphans: Vec<usize> = (0..inv.groups.len())
        .filter(|&g| Some(g) != all && parents[g].is_empty())
        .collect();
    if let Some(all) = all {
        for orphan in orphans {
            parents[orphan].push(all);
            let name = inv.groups[orphan].name.clone();
            inv.groups[all].children.insert(name);
        }
    }
    let mut direct: Vec<Vec<usize>> = vec![Vec::new(); inv.hosts.len()];
    for (at, group) in inv.groups.values().enumerate() {
        for host in &group.hosts {
            if let Some(host) = inv.hosts.get_index_of(host) {
                direct[host].push(at);
            }
        }
    }
    // `mark[g] == h + 1`: group `g` holds host `h`, directly or through a child.
    let mut mark = vec![0; inv.groups.len()];
    let mut todo = Vec::new();
    let mut leave = HashSet::new();
    for (h, groups) in direct.iter().enumerate() {
        let stamp = h + 1;
        let mut others = false;
        todo.extend(groups.iter().copied());
        while let Some(g) = todo.pop() {
            if mark[g] == stamp {
                continue;
            }
            mark[g] = stamp;
            others |= Some(g) != all && Some(g) != ungrouped;
            todo.extend(parents[g].iter().copied());
        }
        let Some(ungrouped) = ungrouped else {
            continue;
        };
        let host = &inv.hosts[h].name;
        if mark[ungrouped] == stamp {
            if others {
                leave.insert(host.clone());
            }
        } else if !others {
            // Ansible's `add_child("ungrouped", name)` takes a group of that name first.
            let named_so = inv
                .groups
                .get_index_of(host)
                .filter(|&g| Some(g) != all && g != ungrouped)
                .filter(|&g| !ancestors(&parents, ungrouped).contains(&g));
            let host = host.clone();
            match named_so {
                Some(group) => {
                    inv.groups[ungrouped].children.insert(host);
                    parents[group].push(ungrouped);
                }
                None => {
                    inv.groups[ungrouped].hosts.insert(host);
                }
            }
        }
    }
    if let Some(ungrouped) = ungrouped
        && !leave.is_empty()
    {
        // One pass: removing hosts one by one shifted the rest each time.
        inv.groups[ungrouped].hosts.retain(|h| !leave.contains(h));
    }
    if let Some(all) = all {
        // A host a source lists under `all` stays `all`'s own (first in `groups['all']`, as
        // Ansible's `Group.get_hosts` lists a group's own hosts before its children's);
        // `ungrouped` comes first among its children.
        let all = &mut inv.groups[all];
        let mut children = IndexSet::new();
        children.insert("ungrouped".to_owned());
        children.extend(all.children.iter().filter(|c| *c != "ungrouped").cloned());
        all.children = children;
    }
    // Every change to hosts and groups ends here (loading, `add_host`, `group_by`).
    inv.reindex();
}

/// The groups above `group` (by position), through any number of parents.
fn ancestors(parents: &[Vec<usize>], group: usize) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut todo = vec![group];
    while let Some(g) = todo.pop() {
        for &parent in &parents[g] {
            if seen.insert(parent) {
                todo.push(parent);
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
        assert_eq!(list(&all.hosts), ["a"]);
        assert_eq!(list(&inv.group("ungrouped").unwrap().hosts), ["b", "a"]);
        // `all`'s own hosts first, then its children's, as Ansible lists them.
        assert_eq!(inv.group_hosts("all"), ["a", "b", "c"]);
    }

    #[test]
    fn hosts_that_leave_ungrouped_keep_the_others_in_order() {
        let mut inv = inventory(&[
            ("ungrouped", &["a", "b", "c", "d", "e"], &[]),
            ("web", &["d", "b"], &[]),
            ("db", &["f"], &[]),
        ]);
        reconcile(&mut inv);
        assert_eq!(
            list(&inv.group("ungrouped").unwrap().hosts),
            ["a", "c", "e"]
        );
        assert_eq!(list(&inv.group("web").unwrap().hosts), ["d", "b"]);
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
