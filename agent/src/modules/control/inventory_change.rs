//! `add_host` and `group_by`: changes to the run's in-memory inventory. The module reads
//! its arguments as Ansible's action plugins do; the engine hands the change to the
//! controller, which keeps the inventory (`docs/cross-host.md`).

use serde_json::{Map, Value as Json};

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan};
use crate::wire::InventoryChange;

/// The `add_host` module.
pub struct AddHost;

/// The `group_by` module.
pub struct GroupBy;

impl Module for AddHost {
    fn name(&self) -> &'static str {
        "add_host"
    }

    /// Any key besides the name and groups is a variable of the new host.
    fn arg_names(&self) -> &'static [&'static str] {
        &[]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let bad = |why: String| ModuleError::from(ArgsError::new("add_host", why));
        let Json::Object(args) = args else {
            return Err(bad("expected a mapping".into()));
        };
        let mut args = args.clone();
        if let Some(raw) = args.remove("_raw_params") {
            let Json::Object(raw) = raw else {
                // Ansible's own words, as the task's failure.
                return Ok(Plan::done(Outcome::failed(format!(
                    "Invalid raw parameters passed, requires a dictionary/mapping got a {}",
                    json_type(&raw)
                ))));
            };
            for (k, v) in raw {
                args.entry(k).or_insert(v);
            }
        }
        let written = ["name", "hostname", "host"]
            .iter()
            .find_map(|k| args.get(*k))
            .ok_or_else(|| bad("`name`, `host` or `hostname` is required".into()))?;
        let written = text(written);
        // `host:port` as Ansible's `parse_address` reads it: the port becomes a variable.
        let (name, port) = split_port(&written);
        let groups = ["groupname", "groups", "group"]
            .iter()
            .find_map(|k| args.get(*k))
            .map(|g| match g {
                Json::Array(items) => Ok(items.iter().map(text).collect::<Vec<_>>()),
                Json::String(s) => Ok(s.split(',').map(str::to_owned).collect()),
                Json::Null => Ok(Vec::new()),
                other => Err(bad(format!("`groups` must be a list, found `{other}`"))),
            })
            .transpose()?
            .unwrap_or_default();
        let mut unique: Vec<String> = Vec::new();
        for g in groups.iter().map(|g| g.trim().to_owned()) {
            if !g.is_empty() && !unique.contains(&g) {
                unique.push(g);
            }
        }
        let special = ["name", "hostname", "groupname", "groups"];
        let mut vars: Map<String, Json> = args
            .into_iter()
            .filter(|(k, _)| !special.contains(&k.as_str()))
            .collect();
        if let Some(port) = port {
            vars.insert("ansible_ssh_port".into(), Json::from(port));
        }
        let mut outcome = Outcome::ok(format!("host `{name}`"));
        outcome.data.insert(
            "add_host".into(),
            serde_json::json!({"host_name": name, "groups": unique, "host_vars": vars}),
        );
        outcome.inventory = Some(InventoryChange::AddHost {
            name,
            groups: unique,
            vars,
        });
        Ok(Plan::done(outcome))
    }
}

impl Module for GroupBy {
    fn name(&self) -> &'static str {
        "group_by"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["key", "parents"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let Some(key) = args.get("key").filter(|k| !k.is_null()) else {
            return Ok(Plan::done(Outcome::failed(
                "the 'key' param is required when using group_by",
            )));
        };
        // As Ansible: spaces in group names become dashes.
        let key = text(key).replace(' ', "-");
        let parents = match args.get("parents") {
            None | Some(Json::Null) => vec!["all".to_owned()],
            Some(Json::Array(items)) => items.iter().map(|p| text(p).replace(' ', "-")).collect(),
            Some(other) => vec![text(other).replace(' ', "-")],
        };
        let mut outcome = Outcome::ok(format!("group `{key}`"));
        outcome
            .data
            .insert("add_group".into(), Json::from(key.clone()));
        outcome
            .data
            .insert("parent_groups".into(), Json::from(parents.clone()));
        outcome.inventory = Some(InventoryChange::GroupBy { key, parents });
        Ok(Plan::done(outcome))
    }
}

/// The Python type name of a JSON value, as Ansible's messages say it.
fn json_type(v: &Json) -> &'static str {
    match v {
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Bool(_) => "bool",
        Json::Null => "NoneType",
        Json::Object(_) => "dict",
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `name:port` → (`name`, port); an IPv6 address keeps its colons (`[::1]:22` has a port).
fn split_port(written: &str) -> (String, Option<u16>) {
    if let Some(rest) = written.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_owned(), port);
    }
    match written.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host.to_owned(), Some(p)),
            Err(_) => (written.to_owned(), None),
        },
        _ => (written.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::testutil::Harness;

    fn change(module: &dyn Module, args: Json) -> InventoryChange {
        let plan = Harness::new().check(module, args);
        plan.outcome.inventory.expect("an inventory change")
    }

    #[test]
    fn add_host_reads_its_arguments_as_ansible_does() {
        assert_eq!(
            change(
                &AddHost,
                json!({"name": "db3:2222", "groups": "database, new ,database", "role_": "r"})
            ),
            InventoryChange::AddHost {
                name: "db3".into(),
                groups: vec!["database".into(), "new".into()],
                vars: serde_json::from_value(json!({"role_": "r", "ansible_ssh_port": 2222}))
                    .unwrap(),
            }
        );
        assert_eq!(
            change(&AddHost, json!({"hostname": "[::1]", "group": ["a"]})),
            // As Ansible: only `name`, `hostname`, `groupname` and `groups` are not
            // variables of the host.
            InventoryChange::AddHost {
                name: "::1".into(),
                groups: vec!["a".into()],
                vars: serde_json::from_value(json!({"group": ["a"]})).unwrap(),
            }
        );
        let e = Harness::new().check_err(&AddHost, json!({"groups": ["a"]}));
        assert!(
            e.contains("`name`, `host` or `hostname` is required"),
            "{e}"
        );
    }

    #[test]
    fn group_by_defaults_its_parent_to_all_and_dashes_spaces() {
        assert_eq!(
            change(&GroupBy, json!({"key": "os Debian 12"})),
            InventoryChange::GroupBy {
                key: "os-Debian-12".into(),
                parents: vec!["all".into()],
            }
        );
        assert_eq!(
            change(&GroupBy, json!({"key": "k", "parents": "p q"})),
            InventoryChange::GroupBy {
                key: "k".into(),
                parents: vec!["p-q".into()],
            }
        );
        let plan = Harness::new().check(&GroupBy, json!({}));
        assert!(plan.outcome.failed && plan.outcome.inventory.is_none());
    }
}
