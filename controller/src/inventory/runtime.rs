//! Changes to the inventory while a run goes (`add_host`, `group_by`), as Ansible's
//! `InventoryManager.add_dynamic_host` and `add_dynamic_group` make them: later plays
//! select their hosts from the changed inventory, and `groups`/`hostvars` show it.

use serde_json::{Map, Value};

use super::model::{Group, Host, Inventory};
use crate::diagnostic::Diagnostic;
use crate::secrets::Secrets;

impl Inventory {
    /// `add_host`: creates the host if new, sets its variables, adds it to `groups`
    /// (created if new). Whether anything changed.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
        secrets: &Secrets,
    ) -> Result<bool, Diagnostic> {
        let mut changed = false;
        if !self.hosts.contains_key(name) {
            // Its `host_vars/` beside the inventory apply, as to any host.
            let file_vars = self.vars_files("host_vars", name, secrets)?;
            self.hosts.insert(
                name.to_owned(),
                Host {
                    name: name.to_owned(),
                    vars: Map::new(),
                    file_vars,
                    loc: None,
                },
            );
            // As Ansible's `add_dynamic_host`: a new host is `all`'s own, listed with the
            // hosts a source put under `all`, before its children's, in `groups['all']`.
            if let Some(all) = self.groups.get_mut("all") {
                all.hosts.insert(name.to_owned());
            }
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
            changed |= self.ensure_group(group, secrets)?;
            if let Some(g) = self.groups.get_mut(group) {
                changed |= g.hosts.insert(name.to_owned());
            }
        }
        if changed {
            super::reconcile::reconcile(self);
        }
        Ok(changed)
    }

    /// `group_by`: `host` joins `group` (created if new), which becomes a child of each of
    /// `parents` (created if new). Whether anything changed (Ansible does not count the
    /// new group itself).
    pub fn add_dynamic_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
        secrets: &Secrets,
    ) -> Result<bool, Diagnostic> {
        let mut changed = false;
        let created = self.ensure_group(group, secrets)?;
        for parent in parents {
            changed |= self.ensure_group(parent, secrets)?;
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
        Ok(changed)
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

    /// Creates group `name` if new, with its `group_vars/` beside the inventory; whether
    /// it was new.
    fn ensure_group(&mut self, name: &str, secrets: &Secrets) -> Result<bool, Diagnostic> {
        if self.groups.contains_key(name) {
            return Ok(false);
        }
        let mut group = Group::new(name, None);
        group.file_vars = self.vars_files("group_vars", name, secrets)?;
        self.groups.insert(name.to_owned(), group);
        Ok(true)
    }

    /// `<kind>/<name>` under every source's directory, merged in source order.
    fn vars_files(
        &self,
        kind: &str,
        name: &str,
        secrets: &Secrets,
    ) -> Result<Map<String, Value>, Diagnostic> {
        let mut vars = Map::new();
        for base in &self.var_bases {
            vars.extend(super::vars_dirs::read_entity(
                &base.join(kind),
                name,
                secrets,
            )?);
        }
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        crate::vault_glue::secrets_without_vault()
    }

    fn inventory(dir: &std::path::Path) -> Inventory {
        let file = dir.join("inv.yml");
        std::fs::write(
            &file,
            "all:\n  children:\n    db:\n      hosts:\n        db1: {}\n        db2: {}\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("group_vars")).unwrap();
        std::fs::write(dir.join("group_vars/os_debian.yml"), "family: debian\n").unwrap();
        std::fs::create_dir_all(dir.join("host_vars")).unwrap();
        std::fs::write(dir.join("host_vars/db3.yml"), "rack: r3\n").unwrap();
        crate::inventory::load(&[file], &secrets()).unwrap()
    }

    #[test]
    fn add_host_creates_hosts_and_groups_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = inventory(dir.path());
        let s = secrets();
        let vars: Map<String, Value> =
            serde_json::from_str(r#"{"ansible_host": "10.0.0.3"}"#).unwrap();
        assert!(
            inv.add_dynamic_host("db3", &["db".into(), "new".into()], &vars, &s)
                .unwrap()
        );
        assert!(
            !inv.add_dynamic_host("db3", &["db".into()], &vars, &s)
                .unwrap(),
            "nothing new"
        );
        assert_eq!(inv.group_hosts("db"), ["db1", "db2", "db3"]);
        assert_eq!(inv.group_hosts("new"), ["db3"]);
        // An added host is `all`'s own, listed before `all`'s children's (as in Ansible).
        assert_eq!(inv.group_hosts("all"), ["db3", "db1", "db2"]);
        assert_eq!(inv.host_vars("db3")["ansible_host"], "10.0.0.3");
        assert_eq!(inv.host_vars("db3")["rack"], "r3", "its host_vars/ file");
        assert!(
            inv.add_dynamic_host("lonely", &[], &Map::new(), &s)
                .unwrap()
        );
        assert_eq!(inv.group_hosts("ungrouped"), ["lonely"]);
    }

    #[test]
    fn group_by_makes_a_child_group_of_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = inventory(dir.path());
        let s = secrets();
        let all = ["all".to_owned()];
        assert!(inv.add_dynamic_group("db2", "os_debian", &all, &s).unwrap());
        assert!(!inv.add_dynamic_group("db2", "os_debian", &all, &s).unwrap());
        assert!(
            inv.add_dynamic_group("db1", "os_debian", &["linux".into()], &s)
                .unwrap()
        );
        assert_eq!(
            inv.host_vars("db1")["family"],
            "debian",
            "its group_vars/ file"
        );
        // In the order they were added, as Ansible's group lists its hosts.
        assert_eq!(inv.group_hosts("os_debian"), ["db2", "db1"]);
        assert_eq!(inv.group_hosts("linux"), ["db2", "db1"]);
        assert_eq!(inv.group_names("db1"), ["db", "linux", "os_debian"]);
    }
}
