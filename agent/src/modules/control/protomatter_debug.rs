//! `ansible._protomatter.debug`: ansible-core's internal action that evaluates a list of
//! expressions as written (not templated first) and returns every result, an undefined one
//! replaced by Ansible's numbered placeholder (`<< error 1 - 'x' is undefined >>`) with a
//! warning saying why, instead of failing. Ansible's own integration targets use it.

use serde_json::{Value as Json, json};

use super::{Context, Module, ModuleError, Outcome, Plan};
use crate::template::TemplateError;

/// The module's name, as the playbook writes it.
pub const NAME: &str = "ansible._protomatter.debug";

/// The `ansible._protomatter.debug` module.
pub struct ProtomatterDebug;

impl Module for ProtomatterDebug {
    fn name(&self) -> &'static str {
        NAME
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["expression"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let expressions = match args.get("expression") {
            Some(Json::Array(items)) => items.clone(),
            Some(other @ Json::String(_)) => vec![other.clone()],
            None => {
                return Err(ModuleError::Failed(
                    "missing required arguments: expression".into(),
                ));
            }
            Some(other) => {
                return Err(ModuleError::Failed(format!(
                    "argument 'expression' is of type {} and we were unable to convert to list",
                    super::argspec::type_name(other)
                )));
            }
        };
        let mut results = Vec::new();
        let mut warnings = Vec::new();
        for expression in &expressions {
            let Json::String(expression) = expression else {
                return Err(ModuleError::Failed(format!(
                    "Elements value for option 'expression' is of type {} and we were unable to convert to str",
                    super::argspec::type_name(expression)
                )));
            };
            match ctx.scope.eval(expression) {
                Ok(value) => results.push(value),
                Err(e @ TemplateError::Undefined { .. }) => {
                    let number = warnings.len() + 1;
                    let error = e.in_jinja_words();
                    warnings.push(Json::from(format!(
                        "Encountered 1 template error.\nerror {number} - {error}"
                    )));
                    results.push(Json::from(format!("<< error {number} - {error} >>")));
                }
                Err(e) => return Err(ModuleError::Failed(e.to_string())),
            }
        }
        let mut outcome = Outcome::ok(String::new());
        outcome
            .data
            .insert("expression_result".into(), Json::Array(results.clone()));
        if !warnings.is_empty() {
            outcome
                .data
                .insert("warnings".into(), Json::Array(warnings));
        }
        outcome.messages.push(
            serde_json::to_string_pretty(&json!({ "expression_result": results }))
                .unwrap_or_default(),
        );
        Ok(Plan::done(outcome))
    }
}
