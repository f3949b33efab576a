//! `assert`: check conditions, fail with a message when one does not hold. As Ansible's
//! action: its arguments validated against the same spec (and failing with the same
//! messages), each item of `that` evaluated as Ansible 2.19 evaluates a conditional
//! (`crate::template::conditional`), the first false one failing the task.

use serde_json::{Map, Value as Json, json};

use super::{Context, Module, ModuleError, Outcome, Plan, argspec};
use crate::template::conditional::{AS_TEMPLATE, AS_TEMPLATE_REMOVED_IN};

/// The `assert` module.
pub struct Assert;

impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["that", "fail_msg", "msg", "success_msg", "quiet"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let args = validated(args)?;
        let fail_msg = str_or_list_of_str(&args, "fail_msg")?;
        let success_msg = str_or_list_of_str(&args, "success_msg")?;
        // Ansible's `_check_type_list_strict`: a list as it is, anything else a list of one.
        let that = match &args["that"] {
            Json::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        let mut deprecations = Vec::new();
        let mut failed = None;
        for cond in &that {
            let evaluated = ctx
                .scope
                .evaluate_conditional(cond)
                .map_err(|e| ModuleError::Failed(format!("Task failed: {e}")))?;
            if evaluated.deprecated {
                deprecations.push(json!({
                    "collection_name": "ansible.builtin",
                    "deprecator": {"resolved_name": "ansible.builtin", "type": null},
                    "msg": AS_TEMPLATE,
                    "version": AS_TEMPLATE_REMOVED_IN,
                }));
            }
            if let Some(msg) = &evaluated.broken {
                deprecations.push(json!({
                    "collection_name": "ansible.builtin",
                    "deprecator": {"resolved_name": "ansible.builtin", "type": null},
                    "msg": msg,
                    "version": AS_TEMPLATE_REMOVED_IN,
                }));
            }
            if !evaluated.holds {
                failed = Some(cond);
                break;
            }
        }
        let mut outcome = match failed {
            Some(cond) => {
                let mut outcome = Outcome::failed(message(&fail_msg));
                outcome
                    .data
                    .insert("evaluated_to".into(), Json::Bool(false));
                // The conditional as written; Ansible's result keeps it trusted, so a
                // template in it renders when the registered result is read.
                let shown = match cond {
                    Json::String(s) if crate::template::is_template(s) => ctx
                        .scope
                        .render_value(cond)
                        .unwrap_or_else(|_| cond.clone()),
                    other => other.clone(),
                };
                outcome.data.insert("assertion".into(), shown);
                outcome
            }
            None => Outcome::ok(message(&success_msg)),
        };
        // A list message is the result's `msg` as it is.
        let msg = if outcome.failed {
            fail_msg
        } else {
            success_msg
        };
        if msg.is_array() {
            outcome.data.insert("msg".into(), msg);
        }
        if !deprecations.is_empty() {
            outcome
                .data
                .insert("deprecations".into(), Json::Array(deprecations));
        }
        Ok(Plan::done(outcome))
    }
}

/// The arguments checked against the spec of Ansible's `assert` action, with defaults.
fn validated(args: &Json) -> Result<Map<String, Json>, ModuleError> {
    let spec = json!({
        "fail_msg": {"type": "raw", "aliases": ["msg"], "default": "Assertion failed"},
        "success_msg": {"type": "raw", "default": "All assertions passed"},
        "quiet": {"type": "bool", "default": false},
        "that": {"type": "raw", "required": true},
    });
    let spec = spec.as_object().cloned().unwrap_or_default();
    let params = match args {
        Json::Object(map) => map.clone(),
        Json::Null => Map::new(),
        other => {
            return Err(ModuleError::Failed(format!(
                "Task args must be a mapping, not `{other}`"
            )));
        }
    };
    if let Some(first) = argspec::validate(&spec, params.clone()).into_iter().next() {
        return Err(ModuleError::Failed(
            if first.contains(". Supported parameters include: ") {
                format!("Unsupported parameters for (assert) module: {first}")
            } else {
                first
            },
        ));
    }
    let mut args = params;
    if let Some(msg) = args.remove("msg") {
        args.insert("fail_msg".into(), msg);
    }
    for (key, default) in [
        ("fail_msg", "Assertion failed"),
        ("success_msg", "All assertions passed"),
    ] {
        args.entry(key)
            .or_insert_with(|| Json::String(default.into()));
    }
    Ok(args)
}

/// `fail_msg`/`success_msg`: a string or a list of strings (Ansible's `str_or_list_of_str`).
fn str_or_list_of_str(args: &Map<String, Json>, key: &str) -> Result<Json, ModuleError> {
    // Bytes (`!!binary`) are not strings here, as in Ansible.
    let text = |v: &Json| v.is_string() && crate::pybytes::of_json(v).is_none();
    match &args[key] {
        v if text(v) => Ok(v.clone()),
        Json::Array(items) if items.iter().all(text) => Ok(Json::Array(items.clone())),
        other => Err(ModuleError::Failed(format!(
            "argument '{key}' is of type {} and we were unable to convert to str_or_list_of_str: a string or list of strings is required",
            argspec::type_name(other)
        ))),
    }
}

/// The outcome's text message (a list's items joined; the result keeps the list).
fn message(msg: &Json) -> String {
    match msg {
        Json::String(s) => s.clone(),
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
