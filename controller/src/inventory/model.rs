//! The inventory: hosts, groups, and Ansible's variable precedence.

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value};

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
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub(crate) hosts: IndexMap<String, Host>,
    pub(crate) groups: IndexMap<String, Group>,
    /// The directories whose `group_vars/` and `host_vars/` were read (one per file or
    /// directory source), for the groups and hosts `add_host`/`group_by` create.
    pub(crate) var_bases: Vec<std::path::PathBuf>,
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

    /// Every host in `group` and its descendants, in inventory order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut seen = IndexSet::new();
        self.collect_hosts(group, &mut seen, &mut IndexSet::new());
        let mut hosts: Vec<String> = seen.into_iter().collect();
        hosts.sort_by_key(|h| self.hosts.get_index_of(h));
        hosts
    }

    fn collect_hosts(
        &self,
        group: &str,
        out: &mut IndexSet<String>,
        visiting: &mut IndexSet<String>,
    ) {
        if !visiting.insert(group.to_owned()) {
            return;
        }
        if let Some(g) = self.groups.get(group) {
            out.extend(g.hosts.iter().cloned());
            for child in &g.children {
                self.collect_hosts(child, out, visiting);
            }
        }
    }

    /// Groups `host` belongs to, directly or through ancestry, including `all`.
    pub fn host_groups(&self, host: &str) -> Vec<&Group> {
        // The groups holding the host, then their parents until nothing new comes: linear in
        // the inventory per host, where listing every group's hosts was quadratic.
        let mut member: IndexSet<&str> = self
            .groups
            .values()
            .filter(|g| g.hosts.contains(host))
            .map(|g| g.name.as_str())
            .collect();
        loop {
            let before = member.len();
            for g in self.groups.values() {
                if !member.contains(g.name.as_str())
                    && g.children.iter().any(|c| member.contains(c.as_str()))
                {
                    member.insert(g.name.as_str());
                }
            }
            if member.len() == before {
                break;
            }
        }
        self.groups
            .values()
            .filter(|g| g.name == "all" || member.contains(g.name.as_str()))
            .collect()
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
        self.depth_guarded(group, &mut IndexSet::new())
    }

    fn depth_guarded(&self, group: &str, visiting: &mut IndexSet<String>) -> usize {
        if group == "all" || !visiting.insert(group.to_owned()) {
            return 0;
        }
        let depth = self
            .groups
            .values()
            .filter(|g| g.children.contains(group))
            .map(|parent| self.depth_guarded(&parent.name, visiting) + 1)
            .max()
            .unwrap_or(1);
        visiting.shift_remove(group);
        depth
    }

    /// The host's variables merged in Ansible's precedence: `all` inline < `group_vars/all`
    /// < other groups' inline vars (by depth, priority, name) < their `group_vars/` files < host
    /// inline vars < `host_vars/`. Top-level keys replace (Ansible's `hash_behaviour=replace`).
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        self.host_vars_with(host, None)
    }

    /// [`Inventory::host_vars`] with the `group_vars/`/`host_vars/` beside the playbook, each
    /// just above the inventory's own at the same level, as Ansible merges them.
    pub fn host_vars_with(
        &self,
        host: &str,
        playbook: Option<&super::vars_dirs::PlaybookVars>,
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
        // then `group_vars/all`, then `group_vars/<group>`, then the host's own.
        let mut merged = Map::new();
        let all = self.groups.get("all");
        if let Some(all) = all {
            extend(&mut merged, &all.vars);
        }
        let mut groups: Vec<&Group> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g.name != "all")
            .collect();
        groups.sort_by_cached_key(|g| (self.depth(&g.name), g.priority, g.name.clone()));
        for g in &groups {
            extend(&mut merged, &g.vars);
        }
        if let Some(all) = all {
            extend(&mut merged, &all.file_vars);
        }
        if let Some(v) = beside(true, "all") {
            extend(&mut merged, v);
        }
        for g in &groups {
            extend(&mut merged, &g.file_vars);
        }
        for g in &groups {
            if let Some(v) = beside(true, &g.name) {
                extend(&mut merged, v);
            }
        }
        if let Some(h) = self.hosts.get(host) {
            extend(&mut merged, &h.vars);
            extend(&mut merged, &h.file_vars);
        }
        if let Some(v) = beside(false, host) {
            extend(&mut merged, v);
        }
        merged
    }
}

fn extend(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}
