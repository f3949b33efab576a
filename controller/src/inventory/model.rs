//! The inventory: hosts, groups, and Ansible's variable precedence.

use std::collections::HashSet;
use std::sync::OnceLock;

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value};

use super::index::Index;
use crate::diagnostic::Loc;

/// One host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Inventory name (`inventory_hostname`).
    pub name: String,
    /// Vars written on the host in inventory files.
    pub vars: Map<String, Value>,
    /// Vars from `host_vars/` (higher precedence than inline vars).
    pub file_vars: Map<String, Value>,
    /// Where the host was first declared.
    pub loc: Option<Loc>,
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Vars written on the group in inventory files.
    pub vars: Map<String, Value>,
    /// Vars from `group_vars/` (higher precedence than inline vars).
    pub file_vars: Map<String, Value>,
    /// Direct child groups, in declaration order.
    pub children: IndexSet<String>,
    /// Direct member hosts, in declaration order.
    pub hosts: IndexSet<String>,
    /// `ansible_group_priority`: among groups of one depth, higher priorities' vars win.
    pub priority: i64,
    /// Where the group was first declared.
    pub loc: Option<Loc>,
}

impl Group {
    pub(crate) fn new(name: &str, loc: Option<Loc>) -> Self {
        Group {
            name: name.to_owned(),
            vars: Map::new(),
            file_vars: Map::new(),
            children: IndexSet::new(),
            hosts: IndexSet::new(),
            priority: 1,
            loc,
        }
    }

    /// Ansible's `Group.set_variable`: `ansible_group_priority` sets the priority (through
    /// Python's `int()`) and is not a variable; any other key is one. Errors say why the
    /// priority is not an integer.
    pub(crate) fn set_var(&mut self, key: String, value: Value) -> Result<(), String> {
        if key != "ansible_group_priority" {
            self.vars.insert(key, value);
            return Ok(());
        }
        let priority = match &value {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            }),
            Value::String(s) => super::range::py_int(s).and_then(|n| i64::try_from(n).ok()),
            _ => None,
        };
        self.priority = priority.ok_or_else(|| {
            format!("`ansible_group_priority` must be an integer, found `{value}`")
        })?;
        Ok(())
    }
}

/// Hosts and groups from one or more inventory sources.
/// The host Ansible adds when a pattern names it and the inventory does not have it.
pub const IMPLICIT_LOCALHOST: &str = "localhost";

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub(crate) hosts: IndexMap<String, Host>,
    pub(crate) groups: IndexMap<String, Group>,
    /// The directories whose `group_vars/` and `host_vars/` were read (one per file or
    /// directory source), for the groups and hosts `add_host`/`group_by` create.
    pub(crate) var_bases: Vec<std::path::PathBuf>,
    /// `host_vars/localhost` beside the inventory when `localhost` is not one of its hosts:
    /// Ansible's implicit localhost has them too.
    pub(crate) implicit_localhost_vars: Map<String, Value>,
    /// How hosts and groups link, by position; built on the first query that needs it.
    /// [`Inventory::reindex`] drops it whenever `hosts` or `groups` change (reconciling
    /// does, after loading and after `add_host`/`group_by`).
    pub(crate) index: OnceLock<Index>,
}

impl Inventory {
    /// Hosts in inventory order.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name)
    }

    /// Groups in declaration order (`all` and `ungrouped` first).
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// A group by name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Drops the index, for code that changed `hosts` or `groups` after a query.
    pub(crate) fn reindex(&mut self) {
        self.index = OnceLock::new();
    }

    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::new(&self.hosts, &self.groups))
    }

    /// Every host in `group` and its descendants, in Ansible's order (`Group.get_hosts`):
    /// the groups breadth first (the group, its children in order, their children, ...),
    /// each group's own hosts in order, each host once. Which host a `run_once` task runs
    /// on, the `serial` batches and `groups['name']` follow this order. (Ansible walks a
    /// level of several groups in set order, which varies between runs; dr keeps their
    /// order.)
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let Some(start) = self.groups.get_index_of(group) else {
            return Vec::new();
        };
        let mut seen_groups = HashSet::from([start]);
        let mut ordered = vec![start];
        let mut frontier = vec![start];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for &g in &frontier {
                for child in &self.groups[g].children {
                    let Some(c) = self.groups.get_index_of(child) else {
                        continue;
                    };
                    if seen_groups.insert(c) {
                        ordered.push(c);
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
        let mut seen_hosts = HashSet::new();
        let mut out = Vec::new();
        for g in ordered {
            for host in &self.groups[g].hosts {
                if seen_hosts.insert(host.as_str()) {
                    out.push(host.clone());
                }
            }
        }
        out
    }

    /// Groups `host` belongs to, directly or through ancestry, including `all`, in group
    /// order.
    pub fn host_groups(&self, host: &str) -> Vec<&Group> {
        let index = self.index();
        let listing: Vec<usize>;
        let direct = match self.hosts.get_index_of(host) {
            Some(at) => index.direct(at),
            // Not a host (the implicit `localhost`): only a group listing the name holds it.
            None => {
                listing = (0..self.groups.len())
                    .filter(|&g| self.groups[g].hosts.contains(host))
                    .collect();
                &listing
            }
        };
        let mut groups = index.with_ancestors(direct);
        if let Some(all) = self.groups.get_index_of("all")
            && let Err(at) = groups.binary_search(&all)
        {
            groups.insert(at, all);
        }
        groups.into_iter().map(|g| &self.groups[g]).collect()
    }

    /// `group_names`: the host's groups without `all`, sorted as Ansible does.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g.name != "all")
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Depth of a group: `all` is 0; a child is one deeper than its deepest parent.
    pub fn depth(&self, group: &str) -> usize {
        if group == "all" {
            return 0;
        }
        if let Some(at) = self.groups.get_index_of(group) {
            return self.index().depth(at);
        }
        // Not a group: only a name some group lists as a child has parents.
        self.groups
            .values()
            .filter(|g| g.children.contains(group))
            .map(|parent| self.depth(&parent.name) + 1)
            .max()
            .unwrap_or(1)
    }

    /// The host's variables merged in Ansible's precedence: `all` inline < `group_vars/all`
    /// < other groups' inline vars (by depth, priority, name) < their `group_vars/` files < host
    /// inline vars < `host_vars/`. Top-level keys replace (Ansible's `hash_behaviour=replace`).
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        self.host_vars_with(host, None)
    }

    /// [`Inventory::host_vars`] with the `group_vars/`/`host_vars/` beside the playbook, each
    /// just above the inventory's own at the same level, as Ansible merges them.
    pub fn host_vars_with<'a>(
        &'a self,
        host: &str,
        playbook: Option<&'a super::vars_dirs::PlaybookVars>,
    ) -> Map<String, Value> {
        let beside = |groups: bool, name: &str| {
            playbook.and_then(|p| {
                if groups {
                    p.groups.get(name)
                } else {
                    p.hosts.get(name)
                }
            })
        };
        // Ansible's order: vars written in inventory files (`all`, then groups by depth),
        // then `group_vars/all`, then `group_vars/<group>`, then the host's own. Merged by
        // reference and copied once: a value many groups set is not copied for each.
        let mut merged: IndexMap<&str, &Value> = IndexMap::new();
        let mut extend = |from: &'a Map<String, Value>| {
            merged.extend(from.iter().map(|(k, v)| (k.as_str(), v)));
        };
        let all = self.groups.get("all");
        if let Some(all) = all {
            extend(&all.vars);
        }
        let mut groups: Vec<&Group> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g.name != "all")
            .collect();
        groups.sort_by_cached_key(|g| (self.depth(&g.name), g.priority, g.name.as_str()));
        for g in &groups {
            extend(&g.vars);
        }
        if let Some(all) = all {
            extend(&all.file_vars);
        }
        if let Some(v) = beside(true, "all") {
            extend(v);
        }
        for g in &groups {
            extend(&g.file_vars);
        }
        for g in &groups {
            if let Some(v) = beside(true, &g.name) {
                extend(v);
            }
        }
        match self.hosts.get(host) {
            Some(h) => {
                extend(&h.vars);
                extend(&h.file_vars);
            }
            None if host == IMPLICIT_LOCALHOST => {
                // As Ansible creates it: the local connection and the controller's Python
                // (`ansible_playbook_python`) as host variables.
                static IMPLICIT: std::sync::LazyLock<Map<String, Value>> =
                    std::sync::LazyLock::new(|| {
                        let mut m = Map::new();
                        m.insert("ansible_connection".into(), Value::from("local"));
                        if let Some(python) = crate::bridge::playbook_python() {
                            let python = python.display().to_string();
                            m.insert("ansible_python_interpreter".into(), Value::from(python));
                        }
                        m
                    });
                extend(&IMPLICIT);
                extend(&self.implicit_localhost_vars);
            }
            None => {}
        }
        if let Some(v) = beside(false, host) {
            extend(v);
        }
        merged
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::Inventory;
    use crate::secrets::Secrets;

    /// `w1` is in `web` and in `edge` (a child of `web`); `w2` in `web` and `db`; `prod`
    /// holds `web` and `db`, declared after them.
    fn inv() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inv.yml");
        std::fs::write(
            &file,
            "all:\n  hosts:\n    solo:\n  children:\n    web:\n      hosts:\n        w2:\n        w1:\n      children:\n        edge:\n          hosts:\n            e1:\n            w1:\n    db:\n      hosts:\n        d1:\n        w2:\n    prod:\n      children:\n        web:\n        db:\n",
        )
        .unwrap();
        crate::inventory::load(&[PathBuf::from(&file)], &Secrets::default()).unwrap()
    }

    fn names<'a>(groups: impl IntoIterator<Item = &'a super::Group>) -> Vec<&'a str> {
        groups.into_iter().map(|g| g.name.as_str()).collect()
    }

    #[test]
    fn a_host_in_several_groups_is_listed_once_in_ansibles_order() {
        let inv = inv();
        let hosts: Vec<&str> = inv.hosts().map(|h| h.name.as_str()).collect();
        assert_eq!(hosts, ["solo", "w2", "w1", "e1", "d1"]);
        assert_eq!(inv.group_hosts("web"), ["w2", "w1", "e1"]);
        // Groups breadth first (prod, web, db, edge), as ansible-playbook runs them.
        assert_eq!(inv.group_hosts("prod"), ["w2", "w1", "d1", "e1"]);
        assert_eq!(inv.group_hosts("all"), ["solo", "w2", "w1", "d1", "e1"]);
        assert!(inv.group_hosts("nope").is_empty());
    }

    #[test]
    fn a_host_s_groups_come_in_group_order_with_their_ancestors() {
        let inv = inv();
        assert_eq!(
            names(inv.groups()),
            ["all", "ungrouped", "web", "edge", "db", "prod"]
        );
        assert_eq!(names(inv.host_groups("w1")), ["all", "web", "edge", "prod"]);
        assert_eq!(names(inv.host_groups("w2")), ["all", "web", "db", "prod"]);
        assert_eq!(names(inv.host_groups("solo")), ["all", "ungrouped"]);
        // The implicit `localhost` is in no group but `all`.
        assert_eq!(names(inv.host_groups("localhost")), ["all"]);
        assert_eq!(inv.group_names("w1"), ["edge", "prod", "web"]);
    }

    #[test]
    fn depth_is_one_more_than_the_deepest_parent() {
        let inv = inv();
        let depths: Vec<usize> = ["all", "ungrouped", "prod", "web", "db", "edge"]
            .iter()
            .map(|g| inv.depth(g))
            .collect();
        assert_eq!(depths, [0, 1, 1, 2, 2, 3]);
    }
}
