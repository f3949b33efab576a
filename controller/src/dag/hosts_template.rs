//! Templated `hosts:` (`hosts: "{{ new_primary }}"`), rendered on the controller with the
//! inventory's `all` vars, the play's vars and the `-e` vars, as Ansible does.

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Loc};
use crate::inventory::Inventory;
use crate::playbook::PlaySpec;

/// Renders `pattern` when it holds a template; returns it unchanged otherwise.
pub fn render(
    pattern: &str,
    play: &PlaySpec,
    inv: &Inventory,
    extra: &Map<String, Value>,
) -> Result<String, Diagnostic> {
    render_keyword("hosts", pattern, &play.hosts_loc, play, inv, extra)
}

/// Renders the value of a play keyword written as a template (`hosts`, `strategy`) with
/// the inventory's `all` vars, the play's vars and the `-e` vars.
pub fn render_keyword(
    keyword: &str,
    pattern: &str,
    loc: &Loc,
    play: &PlaySpec,
    inv: &Inventory,
    extra: &Map<String, Value>,
) -> Result<String, Diagnostic> {
    if !pattern.contains("{{") {
        return Ok(pattern.to_owned());
    }
    let mut vars = Map::new();
    if let Some(all) = inv.group("all") {
        vars.extend(all.vars.clone());
        vars.extend(all.file_vars.clone());
    }
    vars.extend(play.vars.clone());
    vars.extend(extra.clone());
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // `{{ x | default(omit) }}`: the keyword is then unset, as in Ansible.
    env.add_global("omit", dr_agent::template::OMIT);
    let ctx = minijinja::Value::from(minijinja::value::Serde(&vars));
    let mut text = pattern.to_owned();
    // Values may themselves be templates (`new_primary: "{{ akira_replica_host }}"`).
    for _ in 0..8 {
        if !text.contains("{{") {
            return Ok(text.trim().to_owned());
        }
        text = env.render_str(&text, &ctx).map_err(|e| {
            Diagnostic::new(loc.clone(), format!("cannot render `{keyword}: {pattern}`: {}", e.detail().unwrap_or(&e.to_string())))
                .with_help(format!("templated `{keyword}:` may use the inventory's `all` vars, the play's `vars` and `-e` vars"))
        })?;
    }
    Err(Diagnostic::new(
        loc.clone(),
        format!("`{keyword}: {pattern}` keeps rendering to a template (a loop?)"),
    ))
}
