//! Reading Ansible YAML inventory files into an [`Inventory`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::model::{Group, Host, Inventory};
use super::{detect, host_list, range, reconcile, vars_dirs};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::secrets::Secrets;
use crate::yaml::{Node, NodeValue};

const GROUP_KEYS: &[&str] = &["hosts", "children", "vars"];

/// Loads inventory sources in order. A source is a YAML or INI file, a directory of them,
/// or a comma-separated host list (`web1,web2,`); `group_vars/` and `host_vars/` beside
/// each file or directory source are read too.
pub fn load(sources: &[PathBuf], secrets: &Secrets) -> Result<Inventory, Diagnostic> {
    let mut inv = Inventory::default();
    inv.groups.insert("all".into(), Group::new("all", None));
    inv.groups
        .insert("ungrouped".into(), Group::new("ungrouped", None));
    for source in sources {
        if host_list::is_host_list(source) {
            host_list::read(&mut inv, &source.to_string_lossy());
            continue;
        }
        if !source.exists() && !unparsed_is_failed() {
            // As Ansible: a source that is not there is a warning, not an error
            // (`ANSIBLE_INVENTORY_UNPARSED_FAILED=true` makes it one). A play whose hosts
            // then match nothing still stops the run (`host_pattern_mismatch`).
            tracing::warn!(
                "unable to parse `{}` as an inventory source: no such file or directory",
                source.display()
            );
            continue;
        }
        let (files, base) = detect::files_of(source)?;
        for file in &files {
            detect::read_file(&mut inv, file, secrets)?;
        }
        vars_dirs::apply(&mut inv, &base, secrets)?;
        inv.var_bases.push(base);
    }
    reconcile::reconcile(&mut inv);
    Ok(inv)
}

/// `ANSIBLE_INVENTORY_UNPARSED_FAILED`: a source that cannot be read fails the run.
fn unparsed_is_failed() -> bool {
    std::env::var("ANSIBLE_INVENTORY_UNPARSED_FAILED").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y" | "t"
        )
    })
}

pub(crate) fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml" | "json")
    )
}

/// The entries of a mapping node, taken from it. Null (a key with nothing after it) has
/// none; anything else is an error saying `what` (a phrase ending in the expected shape,
/// built only then) and what was found.
fn entries(node: Node, what: impl FnOnce() -> String) -> Result<Vec<(Node, Node)>, Diagnostic> {
    match node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Map(entries) => Ok(entries),
        _ => Err(Diagnostic::new(
            node.loc.clone(),
            format!("{}, found {}", what(), node.kind()),
        )),
    }
}

/// Reads a YAML inventory document. The tree is taken apart as it is read: its strings
/// become the inventory's without a copy.
pub(super) fn read_root(inv: &mut Inventory, node: Node) -> Result<(), Diagnostic> {
    let entries = entries(node, || "an inventory must be a mapping of groups".into())
        .map_err(|d| d.with_help("start with `all:` and put groups under `children:`"))?;
    for (key, value) in entries {
        let name = group_name(&key)?;
        read_group(inv, &name, &key, value, 0)?;
        if name != "all" {
            add_child(inv, "all", &name);
        }
    }
    Ok(())
}

fn group_name(key: &Node) -> Result<String, Diagnostic> {
    key.scalar_text()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Diagnostic::new(key.loc.clone(), "a group name must be a string"))
}

fn read_group(
    inv: &mut Inventory,
    name: &str,
    key: &Node,
    body: Node,
    depth: usize,
) -> Result<(), Diagnostic> {
    if depth > 64 {
        return Err(Diagnostic::new(
            key.loc.clone(),
            "groups are nested too deeply",
        ));
    }
    inv.groups
        .entry(name.to_owned())
        .or_insert_with(|| Group::new(name, Some(key.loc.clone())));
    let entries = entries(body, || {
        format!("group `{name}` must be a mapping with `hosts`, `children` or `vars`")
    })?;
    for (k, v) in entries {
        let keyword = k.scalar_text().unwrap_or_default();
        match keyword.as_str() {
            "hosts" => read_hosts(inv, name, v)?,
            "children" => read_children(inv, name, v, depth)?,
            "vars" => {
                let loc = v.loc.clone();
                let vars = mapping(v, || format!("the vars of group `{name}`"))?;
                if let Some(g) = inv.groups.get_mut(name) {
                    for (key, value) in vars {
                        g.set_var(key, value)
                            .map_err(|m| Diagnostic::new(loc.clone(), m))?;
                    }
                }
            }
            _ => {
                return Err(Diagnostic::new(
                    k.loc.clone(),
                    format!("unknown key `{keyword}` in group `{name}`"),
                )
                .with_optional_help(
                    did_you_mean(&keyword, GROUP_KEYS.iter().copied())
                        .or_else(|| Some("a group holds `hosts`, `children` and `vars`".into())),
                ));
            }
        }
    }
    Ok(())
}

fn read_hosts(inv: &mut Inventory, group: &str, node: Node) -> Result<(), Diagnostic> {
    let entries = entries(node, || {
        format!("`hosts` of group `{group}` must be a mapping of host names")
    })
    .map_err(|d| {
        d.with_help(
            "write each host as a key: `hosts: {akira-db-01: {}}` or one per line ending in `:`",
        )
    })?;
    for (key, vars) in entries {
        let pattern = key
            .scalar_text()
            .ok_or_else(|| Diagnostic::new(key.loc.clone(), "a host name must be a string"))?;
        let names = range::expand(&pattern).map_err(|m| Diagnostic::new(key.loc.clone(), m))?;
        let mut vars = mapping(vars, || format!("the vars of host `{pattern}`"))?;
        let mut names = names.into_iter().peekable();
        while let Some(name) = names.next() {
            // The last host of a range takes the vars, the others a copy.
            let these = if names.peek().is_some() {
                vars.clone()
            } else {
                std::mem::take(&mut vars)
            };
            if let Some(g) = inv.groups.get_mut(group) {
                g.hosts.insert(name.clone());
            }
            let host = inv.hosts.entry(name).or_insert_with_key(|name| Host {
                name: name.clone(),
                vars: Map::new(),
                file_vars: Map::new(),
                loc: Some(key.loc.clone()),
            });
            host.vars.extend(these);
        }
    }
    Ok(())
}

fn read_children(
    inv: &mut Inventory,
    parent: &str,
    node: Node,
    depth: usize,
) -> Result<(), Diagnostic> {
    let entries = entries(node, || {
        format!("`children` of group `{parent}` must be a mapping of groups")
    })?;
    for (key, body) in entries {
        let name = group_name(&key)?;
        if name == parent {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!("group `{name}` cannot be its own child"),
            ));
        }
        read_group(inv, &name, &key, body, depth + 1)?;
        add_child(inv, parent, &name);
    }
    Ok(())
}

fn add_child(inv: &mut Inventory, parent: &str, child: &str) {
    if let Some(g) = inv.groups.get_mut(parent) {
        g.children.insert(child.to_owned());
    }
}

fn mapping(node: Node, what: impl FnOnce() -> String) -> Result<Map<String, Value>, Diagnostic> {
    match node.value {
        NodeValue::Map(_) => match node.into_json() {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        },
        NodeValue::Null => Ok(Map::new()),
        _ => Err(Diagnostic::new(
            node.loc.clone(),
            format!("{} must be a mapping, found {}", what(), node.kind()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_of_a_range_gets_its_vars_and_groups() {
        let text = "all:\n  children:\n    web:\n      hosts:\n        web[1:3]: {port: 80}\n        \
                    solo:\n        web2: {tls: true}\n";
        let node = crate::yaml::parse_str(Path::new("inv.yml"), text).unwrap();
        let mut inv = Inventory::default();
        read_root(&mut inv, node).unwrap();
        let vars = |h: &str| Value::Object(inv.host(h).unwrap().vars.clone());
        assert_eq!(vars("web1"), serde_json::json!({"port": 80}));
        assert_eq!(vars("web2"), serde_json::json!({"port": 80, "tls": true}));
        assert_eq!(vars("web3"), serde_json::json!({"port": 80}));
        assert_eq!(vars("solo"), serde_json::json!({}));
        let web: Vec<&String> = inv.groups["web"].hosts.iter().collect();
        assert_eq!(web, ["web1", "web2", "web3", "solo"]);
    }
}
