//! Changes to the inventory while a run goes (`add_host`, `group_by`), as Ansible's
//! `InventoryManager.add_dynamic_host` and `add_dynamic_group` make them: later plays
//! select their hosts from the changed inventory, and `groups`/`hostvars` show it.

use serde_json::{Map, Value};

use super::model::{Group, Host, Inventory};

impl Inventory {
    /// `add_host`: creates the host if new, sets its variables, adds it to `groups`
    /// (created if new). Whether anything changed.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> bool {
        let mut changed = false;
        if !self.hosts.contains_key(name) {
            self.hosts.insert(
                name.to_owned(),
                Host {
                    name: name.to_owned(),
                    vars: Map::new(),
                    file_vars: Map::new(),
                    loc: None,
                },
            );
            changed = true;
        }
        if let Some(host) = self.hosts.get_mut(name) {
            for (k, v) in vars {
                if host.vars.get(k) != Some(v) {
                    host.vars.insert(k.clone(), v.clone());
                    changed = true;
                }
            }
        }
        for group in groups {
            changed |= self.ensure_group(group);
            if let Some(g) = self.groups.get_mut(group) {
                changed |= g.hosts.insert(name.to_owned());
            }
        }
        if changed {
            super::reconcile::reconcile(self);
        }
        changed
    }

    /// `group_by`: `host` joins `group` (created if new), which becomes a child of each of
    /// `parents` (created if new). Whether anything changed (Ansible does not count the
    /// new group itself).
    pub fn add_dynamic_group(&mut self, host: &str, group: &str, parents: &[String]) -> bool {
        let mut changed = false;
        let created = self.ensure_group(group);
        for parent in parents {
            changed |= self.ensure_group(parent);
            if parent != group
                && let Some(p) = self.groups.get_mut(parent)
            {
                changed |= p.children.insert(group.to_owned());
            }
        }
        if self.hosts.contains_key(host)
            && let Some(g) = self.groups.get_mut(group)
        {
            changed |= g.hosts.insert(host.to_owned());
        }
        if changed || created {
            super::reconcile::reconcile(self);
        }
        changed
    }

    /// `groups` as the magic variable shows it: every group's hosts.
    pub fn groups_var(&self) -> Value {
        Value::Object(
            self.groups
                .keys()
                .map(|g| (g.clone(), Value::from(self.group_hosts(g))))
                .collect(),
        )
    }

    fn ensure_group(&mut self, name: &str) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups.insert(name.to_owned(), Group::new(name, None));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inv.yml");
        std::fs::write(
            &file,
            "all:\n  children:\n    db:\n      hosts:\n        db1: {}\n        db2: {}\n",
        )
        .unwrap();
        crate::inventory::load(&[file], &crate::vault_glue::secrets_without_vault()).unwrap()
    }

    #[test]
    fn add_host_creates_hosts_and_groups_once() {
        let mut inv = inventory();
        let vars: Map<String, Value> =
            serde_json::from_str(r#"{"ansible_host": "10.0.0.3"}"#).unwrap();
        assert!(inv.add_dynamic_host("db3", &["db".into(), "new".into()], &vars));
        assert!(
            !inv.add_dynamic_host("db3", &["db".into()], &vars),
            "nothing new"
        );
        assert_eq!(inv.group_hosts("db"), ["db1", "db2", "db3"]);
        assert_eq!(inv.group_hosts("new"), ["db3"]);
        assert_eq!(inv.group_hosts("all"), ["db1", "db2", "db3"]);
        assert_eq!(inv.host_vars("db3")["ansible_host"], "10.0.0.3");
        assert!(inv.add_dynamic_host("lonely", &[], &Map::new()));
        assert_eq!(inv.group_hosts("ungrouped"), ["lonely"]);
    }

    #[test]
    fn group_by_makes_a_child_group_of_its_parents() {
        let mut inv = inventory();
        assert!(inv.add_dynamic_group("db2", "os_debian", &["all".into()]));
        assert!(!inv.add_dynamic_group("db2", "os_debian", &["all".into()]));
        assert!(inv.add_dynamic_group("db1", "os_debian", &["linux".into()]));
        assert_eq!(inv.group_hosts("os_debian"), ["db1", "db2"]);
        assert_eq!(inv.group_hosts("linux"), ["db1", "db2"]);
        assert_eq!(inv.group_names("db1"), ["db", "linux", "os_debian"]);
    }
}
