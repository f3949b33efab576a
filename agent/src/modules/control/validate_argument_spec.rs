//! `validate_argument_spec`: checks variables and parameters against an argument spec,
//! as Ansible's action does. A role with `meta/argument_specs.yml` gets this task first
//! (the controller adds it); a playbook may call it too.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::argspec;
use super::{Context, Module, ModuleError, Outcome, Plan, parse_data_args};

/// The `validate_argument_spec` module.
pub struct ValidateArgumentSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    argument_spec: Option<Json>,
    #[serde(default)]
    provided_arguments: Option<Json>,
    #[serde(default)]
    validate_args_context: Option<Json>,
}

impl Module for ValidateArgumentSpec {
    fn name(&self) -> &'static str {
        "validate_argument_spec"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "argument_spec",
            "provided_arguments",
            "validate_args_context",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: Spec = parse_data_args("validate_argument_spec", args)?;
        let context = spec
            .validate_args_context
            .unwrap_or_else(|| Json::Object(Map::new()));
        let Some(argument_spec) = spec.argument_spec else {
            return Err(ModuleError::Failed(format!(
                "\"argument_spec\" arg is required in args: {}",
                crate::template::pyrepr::repr_json(args)
            )));
        };
        let Json::Object(options) = &argument_spec else {
            return Err(ModuleError::Failed(format!(
                "Incorrect type for argument_spec, expected dict and got {}",
                type_word(&argument_spec)
            )));
        };
        let provided = match spec.provided_arguments {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(m)) => m,
            Some(other) => {
                return Err(ModuleError::Failed(format!(
                    "Incorrect type for provided_arguments, expected dict and got {}",
                    type_word(&other)
                )));
            }
        };
        // The spec's options that are variables here, rendered; parameters given to the
        // task win over them.
        let mut params = Map::new();
        for name in options.keys() {
            let Some(raw) = ctx.scope.vars().get(name) else {
                continue;
            };
            let value = if ctx.scope.raw_names().contains(name) {
                raw.clone()
            } else {
                ctx.scope
                    .render_value(raw)
                    .map_err(|e| ModuleError::Failed(e.to_string()))?
            };
            params.insert(name.clone(), value);
        }
        params.extend(provided);
        let errors = argspec::validate(options, params);
        let mut outcome = Outcome::default();
        outcome.data.insert("validate_args_context".into(), context);
        if errors.is_empty() {
            outcome.msg = "The arg spec validation passed".into();
            return Ok(Plan::done(outcome));
        }
        outcome.failed = true;
        outcome.msg = format!("Validation of arguments failed:\n{}", errors.join("\n"));
        outcome
            .data
            .insert("argument_spec_data".into(), argument_spec.clone());
        outcome
            .data
            .insert("argument_errors".into(), Json::from(errors));
        Ok(Plan::done(outcome))
    }
}

/// Python's `type()` of a value, for the argument errors.
fn type_word(v: &Json) -> String {
    format!("<class '{}'>", argspec::type_name(v))
}
