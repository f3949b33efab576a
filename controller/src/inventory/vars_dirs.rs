//! `group_vars/` and `host_vars/` beside an inventory source.
//!
//! Each may hold `NAME.yml`, `NAME.yaml`, `NAME.json`, `NAME` (YAML without extension), or a
//! directory `NAME/` whose files are read in name order.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::model::Inventory;
use super::source::is_yaml;
use crate::diagnostic::Diagnostic;
use crate::secrets::Secrets;

/// Reads `group_vars/` and `host_vars/` under `base` into the inventory's `file_vars`.
pub fn apply(inv: &mut Inventory, base: &Path, secrets: &Secrets) -> Result<(), Diagnostic> {
    let group_names: Vec<String> = inv.groups.keys().cloned().collect();
    for name in group_names {
        let vars = read_entity(&base.join("group_vars"), &name, secrets)?;
        if let Some(g) = inv.groups.get_mut(&name) {
            g.file_vars.extend(vars);
        }
    }
    let host_names: Vec<String> = inv.hosts.keys().cloned().collect();
    for name in host_names {
        let vars = read_entity(&base.join("host_vars"), &name, secrets)?;
        if let Some(h) = inv.hosts.get_mut(&name) {
            h.file_vars.extend(vars);
        }
    }
    Ok(())
}

/// `group_vars/` and `host_vars/` beside a playbook: Ansible reads them too, each above
/// the inventory's own at the same level (see [`Inventory::host_vars_with`]).
#[derive(Debug, Default)]
pub struct PlaybookVars {
    /// `group_vars/<group>` by group name.
    pub groups: std::collections::HashMap<String, Map<String, Value>>,
    /// `host_vars/<host>` by host name.
    pub hosts: std::collections::HashMap<String, Map<String, Value>>,
    /// How many groups and hosts the inventory had when they were read (an inventory that
    /// `add_host`/`group_by` grew since needs them read again).
    pub covered: usize,
}

/// Reads `group_vars/` and `host_vars/` under `base` (a playbook's directory) for the
/// inventory's groups and hosts.
pub fn read_beside_playbook(
    inv: &Inventory,
    base: &Path,
    secrets: &Secrets,
) -> Result<PlaybookVars, Diagnostic> {
    let mut out = PlaybookVars {
        covered: inv.groups.len() + inv.hosts.len(),
        ..PlaybookVars::default()
    };
    for name in inv.groups.keys() {
        let vars = read_entity(&base.join("group_vars"), name, secrets)?;
        if !vars.is_empty() {
            out.groups.insert(name.clone(), vars);
        }
    }
    for name in inv.hosts.keys() {
        let vars = read_entity(&base.join("host_vars"), name, secrets)?;
        if !vars.is_empty() {
            out.hosts.insert(name.clone(), vars);
        }
    }
    Ok(out)
}

pub(super) fn read_entity(
    dir: &Path,
    name: &str,
    secrets: &Secrets,
) -> Result<Map<String, Value>, Diagnostic> {
    let mut merged = Map::new();
    if !dir.is_dir() {
        return Ok(merged);
    }
    for file in files_for(dir, name)? {
        merged.extend(crate::vars_file::load(&file, secrets)?);
    }
    Ok(merged)
}

fn files_for(dir: &Path, name: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files = Vec::new();
    for candidate in [
        name.to_owned(),
        format!("{name}.yml"),
        format!("{name}.yaml"),
        format!("{name}.json"),
    ] {
        let path = dir.join(&candidate);
        if path.is_file() {
            files.push(path);
        }
    }
    let sub = dir.join(name);
    if sub.is_dir() {
        let mut inner: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map_err(|e| Diagnostic::io(&sub, &e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && (is_yaml(p) || p.extension().is_none()))
            .collect();
        inner.sort();
        files.extend(inner);
    }
    Ok(files)
}
