//! Ansible's argument spec validation (`ArgumentSpecValidator`), as role argument specs
//! (`meta/argument_specs.yml`) and the `validate_argument_spec` module use it: the same
//! checks in the same order, with the same messages, so `argument_errors` reads as
//! Ansible's. Nothing here sets variables: as in Ansible, a role's argument spec only
//! validates (its `default:`s document; the role's `defaults/` set).

mod checks;
mod convert;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use checks::python_eq;
pub(crate) use checks::{truthy, type_name};

/// Validates `params` against `spec` (option name → its attributes: `type`, `required`,
/// `default`, `choices`, `elements`, `aliases`, `options`, ...). Returns the errors,
/// in Ansible's order and words; none when the parameters are valid.
pub fn validate(spec: &Map<String, Json>, params: Map<String, Json>) -> Vec<String> {
    let mut run = Validation::default();
    let mut params = params;
    let aliases = match handle_aliases(spec, &mut params) {
        Ok(aliases) => aliases,
        Err(e) => {
            run.errors.push(e);
            Vec::new()
        }
    };
    if let Err(e) = no_log_walk(spec, &params) {
        run.errors.push(e);
    }
    run.unsupported(spec, &params, &aliases, &[]);
    set_defaults(spec, &mut params, false);
    run.errors
        .extend(checks::required_arguments(spec, &params, &[]));
    convert::check_types(spec, &mut params, &[], &mut run.errors);
    check_values(spec, &mut params, &[], &mut run.errors);
    set_defaults(spec, &mut params, true);
    run.sub_specs(spec, &mut params, &mut Vec::new());
    run.unsupported_error();
    run.errors
}

/// One validation's running state.
#[derive(Default)]
struct Validation {
    errors: Vec<String>,
    /// Parameters no spec names, by their path (`a`, or `a.b.c` in sub-options), with
    /// the options and aliases that were allowed there.
    unsupported: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

impl Validation {
    /// Notes every parameter of `params` that `spec` does not name (directly or as an
    /// alias).
    fn unsupported(
        &mut self,
        spec: &Map<String, Json>,
        params: &Map<String, Json>,
        aliases: &[(String, String)],
        context: &[String],
    ) {
        for k in params.keys() {
            if spec.contains_key(k) || aliases.iter().any(|(a, _)| a == k) {
                continue;
            }
            let path: Vec<&str> = context
                .iter()
                .map(String::as_str)
                .chain([k.as_str()])
                .collect();
            let mut supported: Vec<String> = spec.keys().cloned().collect();
            supported.sort();
            let mut alias_names: Vec<String> = aliases.iter().map(|(a, _)| a.clone()).collect();
            alias_names.sort();
            self.unsupported
                .insert(path.join("."), (supported, alias_names));
        }
    }

    /// Ansible's one error for all unsupported parameters (it lists what was allowed
    /// where the last of them was found).
    fn unsupported_error(&mut self) {
        let Some((_, (supported, aliases))) = self.unsupported.last_key_value() else {
            return;
        };
        let names: Vec<&str> = self.unsupported.keys().map(String::as_str).collect();
        let mut allowed = supported.join(", ");
        if !aliases.is_empty() {
            allowed.push_str(&format!(" ({})", aliases.join(", ")));
        }
        self.errors.push(format!(
            "{}. Supported parameters include: {allowed}.",
            names.join(", ")
        ));
    }

    /// The sub-options (`options:` of a `dict`, or of a `list` of `dict`s), recursively.
    fn sub_specs(
        &mut self,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
        context: &mut Vec<String>,
    ) {
        for (param, attrs) in spec {
            let wanted = attrs.get("type").and_then(Json::as_str);
            let elements = attrs.get("elements").and_then(Json::as_str);
            if !(wanted == Some("dict") || (wanted == Some("list") && elements == Some("dict"))) {
                continue;
            }
            let Some(sub_spec) = attrs.get("options").and_then(Json::as_object) else {
                continue;
            };
            if attrs.get("apply_defaults").is_some_and(truthy) {
                if params.get(param).is_none_or(Json::is_null) {
                    params.insert(param.clone(), Json::Object(Map::new()));
                }
            } else if params.get(param).is_none_or(Json::is_null) {
                continue;
            }
            context.push(param.clone());
            let one = !params[param].is_array();
            let mut elements = match params.remove(param) {
                Some(Json::Array(items)) => items,
                Some(other) => vec![other],
                None => Vec::new(),
            };
            for sub in &mut elements {
                let Json::Object(sub) = sub else {
                    self.errors.push(format!(
                        "value of '{param}' must be of type dict or list of dicts"
                    ));
                    continue;
                };
                self.sub_options(sub_spec, attrs, sub, context);
            }
            let value = if one {
                elements.pop().unwrap_or(Json::Null)
            } else {
                Json::Array(elements)
            };
            params.insert(param.clone(), value);
            context.pop();
        }
    }

    /// One mapping of sub-options, checked as the top level is, with its context named.
    fn sub_options(
        &mut self,
        sub_spec: &Map<String, Json>,
        attrs: &Json,
        sub: &mut Map<String, Json>,
        context: &mut Vec<String>,
    ) {
        let aliases = match handle_aliases(sub_spec, sub) {
            Ok(aliases) => aliases,
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        };
        self.unsupported(sub_spec, sub, &aliases, context);
        self.errors.extend(checks::mutually_exclusive(
            attrs.get("mutually_exclusive"),
            sub,
            context,
        ));
        set_defaults(sub_spec, sub, false);
        self.errors
            .extend(checks::required_arguments(sub_spec, sub, context));
        convert::check_types(sub_spec, sub, context, &mut self.errors);
        check_values(sub_spec, sub, context, &mut self.errors);
        self.errors.extend(checks::additional(attrs, sub, context));
        set_defaults(sub_spec, sub, true);
        self.sub_specs(sub_spec, sub, context);
    }
}

/// The aliases of `spec` as (alias, option) pairs; an alias given in `params` sets its
/// option. An error (Ansible's "internal error") for a spec that is itself wrong.
fn handle_aliases(
    spec: &Map<String, Json>,
    params: &mut Map<String, Json>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, attrs) in spec {
        let has_default = attrs.get("default").is_some_and(|d| !d.is_null());
        if has_default && attrs.get("required").is_some_and(truthy) {
            return Err(format!(
                "internal error: required and default are mutually exclusive for {k}"
            ));
        }
        let Some(aliases) = attrs.get("aliases").filter(|a| !a.is_null()) else {
            continue;
        };
        let Some(aliases) = aliases.as_array() else {
            return Err("internal error: aliases must be a list or tuple".to_owned());
        };
        for alias in aliases {
            let alias = checks::py_str(alias);
            if let Some(value) = params.get(&alias).cloned() {
                params.insert(k.clone(), value);
            }
            out.push((alias, k.clone()));
        }
    }
    Ok(out)
}

/// Ansible's walk for `no_log` values through the sub-options, which fails (once, first
/// of all errors) on sub-options that are neither a mapping nor a string that reads as one.
/// dr masks no value here: validation prints none.
fn no_log_walk(spec: &Map<String, Json>, params: &Map<String, Json>) -> Result<(), String> {
    for (name, attrs) in spec {
        let Some(sub_spec) = attrs.get("options").filter(|o| !o.is_null()) else {
            continue;
        };
        let Some(value) = params.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let wanted = attrs.get("type").and_then(Json::as_str);
        let elements = attrs.get("elements").and_then(Json::as_str);
        if !(wanted == Some("dict") || (wanted == Some("list") && elements == Some("dict"))) {
            continue;
        }
        let items = match value {
            Json::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for item in items {
            let item = match item {
                Json::String(_) => convert::convert("dict", &item)?,
                other => other,
            };
            let Json::Object(sub) = &item else {
                return Err(format!(
                    "Value '{}' in the sub parameter field '{name}' must be a {}, not '{}'",
                    checks::py_str(&item),
                    wanted.unwrap_or_default(),
                    checks::short_class_name(&item)
                ));
            };
            if let Some(sub_spec) = sub_spec.as_object() {
                no_log_walk(sub_spec, sub)?;
            }
        }
    }
    Ok(())
}

/// Gives each option `params` lacks its `default`: only non-null defaults when
/// `set_default` is false, every option (null when it has none) when true.
fn set_defaults(spec: &Map<String, Json>, params: &mut Map<String, Json>, set_default: bool) {
    for (param, attrs) in spec {
        let default = attrs.get("default").cloned().unwrap_or(Json::Null);
        if !params.contains_key(param) && (!default.is_null() || set_default) {
            params.insert(param.clone(), default);
        }
    }
}

/// `choices:`: each option's value (or each item of a list value) must be one of them.
fn check_values(
    spec: &Map<String, Json>,
    params: &mut Map<String, Json>,
    context: &[String],
    errors: &mut Vec<String>,
) {
    let found = |msg: String| {
        if context.is_empty() {
            msg
        } else {
            format!("{msg} found in {}", context.join(" -> "))
        }
    };
    for (param, attrs) in spec {
        let Some(choices) = attrs.get("choices").filter(|c| !c.is_null()) else {
            continue;
        };
        let Some(choices) = choices.as_array() else {
            errors.push(found(format!(
                "internal error: choices for argument {param} are not iterable: {}",
                checks::py_str(choices)
            )));
            continue;
        };
        let Some(value) = params.get(param).cloned() else {
            continue;
        };
        let listed = |c: &str| {
            choices
                .iter()
                .map(checks::py_str)
                .collect::<Vec<_>>()
                .join(c)
        };
        let one_of = |v: &Json| choices.iter().any(|c| python_eq(c, v));
        if let Json::Array(items) = &value {
            let missing: Vec<String> = items
                .iter()
                .filter(|i| !one_of(i))
                .map(checks::py_str)
                .collect();
            if !missing.is_empty() {
                errors.push(found(format!(
                    "value of {param} must be one or more of: {}. Got no match for: {}",
                    listed(", "),
                    missing.join(", ")
                )));
            }
            continue;
        }
        if one_of(&value) {
            continue;
        }
        // PyYAML turned `yes`/`no` into booleans: Ansible maps them back when only one
        // choice can be meant.
        let mut value = value;
        for (word, set) in [
            ("False", checks::BOOLEANS_FALSE),
            ("True", checks::BOOLEANS_TRUE),
        ] {
            if value.as_str() == Some(word) {
                let overlap: Vec<&Json> = choices
                    .iter()
                    .filter(|c| set.iter().any(|b| python_eq(&b.to_json(), c)))
                    .collect();
                if let [only] = overlap.as_slice() {
                    value = (*only).clone();
                    params.insert(param.clone(), value.clone());
                }
            }
        }
        if !one_of(&value) {
            errors.push(found(format!(
                "value of {param} must be one of: {}, got: {}",
                listed(", "),
                checks::py_str(&value)
            )));
        }
    }
}
