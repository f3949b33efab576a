//! The `template` lookup, rendered where it is used: the controller finds the file (and the
//! templates it names) and ships it; the template reads the variables of the render that
//! calls the lookup, as in Ansible (the host's, registered results, loop items).

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::{Error, ErrorKind, State, Value};
use serde_json::{Map, Value as Json};

use super::overrides::Overrides;
use crate::wire::TemplateFile;

/// Renders `file` with the variables `state` sees, the template variables Ansible adds and
/// the lookup's `template_vars`; `None` when it outputs nothing at all.
pub(super) fn render(
    state: &State,
    file: &TemplateFile,
    options: &Map<String, Json>,
) -> Result<Value, Error> {
    let invalid = |msg: String| Error::new(ErrorKind::InvalidOperation, msg);
    let (overrides, body) = Overrides::from_args(options)
        .and_then(|o| o.with_header(&file.source))
        .map_err(invalid)?;
    let mut env = state.env().clone();
    env.set_syntax(overrides.syntax().map_err(invalid)?);
    if !file.templates.is_empty() {
        super::includes::set_loader(&mut env, Arc::new(file.templates.clone()), &overrides);
    }
    let source = overrides.prepare(body);
    let template = env.template_from_str(&source)?;
    let mut names = template.undeclared_variables(false);
    for name in file.templates.keys() {
        if let Ok(included) = env.get_template(name) {
            names.extend(included.undeclared_variables(false));
        }
    }
    let mut ctx: BTreeMap<String, Value> = names
        .into_iter()
        .filter_map(|n| state.lookup(&n).map(|v| (n, v)))
        .collect();
    let managed = !ctx.contains_key("ansible_managed");
    let added = super::file_vars(&file.origin, file.meta.as_ref(), &file.name, None, managed);
    let extra = match options.get("template_vars") {
        Some(Json::Object(extra)) => extra.clone(),
        Some(Json::Null) | None => Map::new(),
        Some(other) => {
            return Err(invalid(format!(
                "`template_vars` must be a mapping, not {other}"
            )));
        }
    };
    for (k, v) in added.into_iter().chain(extra) {
        ctx.insert(k, Value::from(minijinja::value::Serde(&v)));
    }
    let (out, printed, value) = super::emitted::tracking_values(|| template.render(&ctx));
    // An undefined variable in it (or in what it includes) is named for the caller.
    let out = out.map_err(|e| {
        match super::nested_undefined::name(&env, &e, &source, |n| ctx.contains_key(n)) {
            Some(name) => {
                let msg = format!("'{name}' is undefined");
                super::undef::explain(msg.clone());
                Error::new(ErrorKind::UndefinedError, msg)
            }
            None => e,
        }
    })?;
    if out.is_empty() && !printed {
        return Ok(Value::from(()));
    }
    // As Ansible 2.19: a template whose output is one value that is not a string (`{{ [1] }}`,
    // or a macro whose body is that) gives the value itself.
    if let Some(value) = value
        && out.trim_end_matches(['\n', '\r']) == super::pyrepr::python_str(&value)
    {
        return Ok(value);
    }
    Ok(Value::from(super::preserve_trailing_newlines(
        &source,
        out,
        overrides.newline(),
    )))
}
