//! `dr inventory list|graph|host`.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::cli::{Format, InventoryArgs, InventoryCommand};
use crate::inventory::Inventory;
use crate::secrets::Secrets;
use crate::vault_glue::secrets_for;

use super::Context;

/// Runs an inventory subcommand.
pub fn run(cmd: &InventoryCommand) -> Result<i32, Error> {
    match cmd {
        InventoryCommand::List {
            inventory,
            vault,
            format,
        } => list(inventory, secrets_for(vault)?, *format),
        InventoryCommand::Graph { inventory, group } => graph(inventory, group.as_deref()),
        InventoryCommand::Host {
            inventory,
            vault,
            name,
            format,
        } => host(inventory, secrets_for(vault)?, name, *format),
    }
}

fn selected(ctx: &Context, args: &InventoryArgs) -> Result<Vec<String>, Error> {
    match &args.limit {
        Some(p) => ctx
            .inventory
            .select(p)
            .map_err(|e| Error::Message(e.to_string())),
        None => Ok(ctx.inventory.hosts().map(|h| h.name.clone()).collect()),
    }
}

fn list(args: &InventoryArgs, secrets: Secrets, format: Format) -> Result<i32, Error> {
    let ctx = Context::load(args, secrets)?;
    let hosts = selected(&ctx, args)?;
    if format == Format::Json {
        let doc = list_json(&ctx.inventory, &hosts, &ctx.secrets);
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(0);
    }
    for h in &hosts {
        crate::outln!("{h}  [{}]", ctx.inventory.group_names(h).join(", "));
    }
    Ok(0)
}

/// The shape of `ansible-inventory --list`: `_meta.hostvars`, then one entry per group with
/// its direct `hosts` and `children`.
pub fn list_json(inv: &Inventory, hosts: &[String], secrets: &Secrets) -> Value {
    let masker = dr_agent::mask::Masker::new(&secrets.to_vec());
    let mut hostvars = Map::new();
    for h in hosts {
        hostvars.insert(
            h.clone(),
            masker.mask_value(&Value::Object(inv.host_vars(h))),
        );
    }
    let mut doc = Map::new();
    doc.insert("_meta".into(), json!({ "hostvars": hostvars }));
    let listed: std::collections::HashSet<&String> = hosts.iter().collect();
    for g in inv.groups() {
        let mut entry = Map::new();
        // As `ansible-inventory --list`: `all`'s own hosts are not listed (every host is).
        let members: Vec<&String> = g.hosts.iter().filter(|h| listed.contains(h)).collect();
        if !members.is_empty() && g.name != "all" {
            entry.insert("hosts".into(), json!(members));
        }
        if !g.children.is_empty() {
            entry.insert("children".into(), json!(g.children));
        }
        doc.insert(g.name.clone(), Value::Object(entry));
    }
    Value::Object(doc)
}

fn graph(args: &InventoryArgs, start: Option<&str>) -> Result<i32, Error> {
    let ctx = Context::load(args, crate::vault_glue::secrets_without_vault())?;
    let root = start.unwrap_or("all");
    if ctx.inventory.group(root).is_none() {
        return Err(Error::Message(format!(
            "no group `{root}` in the inventory"
        )));
    }
    let mut out = String::new();
    draw(&ctx.inventory, root, 0, &mut out);
    crate::out!("{out}");
    Ok(0)
}

/// `@group:` lines, `|--` for members, as `ansible-inventory --graph` draws them.
fn draw(inv: &Inventory, group: &str, depth: usize, out: &mut String) {
    let indent = "  |".repeat(depth);
    let prefix = if depth == 0 {
        String::new()
    } else {
        format!("{indent}--")
    };
    out.push_str(&format!("{prefix}@{group}:\n"));
    let Some(g) = inv.group(group) else { return };
    let mut children: Vec<&String> = g.children.iter().collect();
    children.sort();
    for child in children {
        if inv.group_hosts(child).is_empty()
            && inv.group(child).is_some_and(|c| c.children.is_empty())
            && child == "ungrouped"
        {
            continue;
        }
        draw(inv, child, depth + 1, out);
    }
    // `ansible-inventory --graph` draws no hosts directly under `all`.
    if group == "all" {
        return;
    }
    let mut hosts: Vec<&String> = g.hosts.iter().collect();
    hosts.sort();
    for h in hosts {
        out.push_str(&format!("{}--{h}\n", "  |".repeat(depth + 1)));
    }
}

fn host(args: &InventoryArgs, secrets: Secrets, name: &str, format: Format) -> Result<i32, Error> {
    let ctx = Context::load(args, secrets)?;
    if ctx.inventory.host(name).is_none() {
        let hint =
            crate::diagnostic::did_you_mean(name, ctx.inventory.hosts().map(|h| h.name.as_str()))
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
        return Err(Error::Message(format!(
            "no host `{name}` in the inventory{hint}"
        )));
    }
    let masker = dr_agent::mask::Masker::new(&ctx.secrets.to_vec());
    let vars = masker.mask_value(&Value::Object(ctx.inventory.host_vars(name)));
    match format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&vars).unwrap_or_default()
        ),
        _ => {
            if let Value::Object(map) = &vars {
                for (k, v) in map {
                    crate::outln!("{k}: {v}");
                }
            }
        }
    }
    Ok(0)
}
