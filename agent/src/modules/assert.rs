//! `assert`: check conditions, fail with a message when one does not hold.

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::bool_ish;
use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `assert` module.
pub struct Assert;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertSpec {
    that: Json,
    fail_msg: Option<Json>,
    msg: Option<Json>,
    success_msg: Option<Json>,
    #[serde(default, deserialize_with = "bool_ish")]
    quiet: bool,
}

impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["that", "fail_msg", "msg", "success_msg", "quiet"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: AssertSpec = parse_args("assert", args)?;
        let conditions: Vec<Json> = match spec.that {
            Json::Array(items) => items,
            single => vec![single],
        };
        for cond in &conditions {
            let holds = match cond {
                Json::Bool(b) => *b,
                Json::String(expr) => ctx
                    .scope
                    .eval_bool(expr)
                    .map_err(|e| ModuleError::Failed(format!("assertion `{expr}`: {e}")))?,
                other => super::args::json_bool(other).unwrap_or(false),
            };
            if !holds {
                let msg = match spec.fail_msg.or(spec.msg) {
                    Some(Json::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => "Assertion failed".to_owned(),
                };
                let mut outcome = Outcome::failed(msg);
                // As Ansible: the condition as written and what it gave.
                outcome.data.insert("assertion".into(), cond.clone());
                outcome
                    .data
                    .insert("evaluated_to".into(), Json::Bool(false));
                return Ok(Plan::done(outcome));
            }
        }
        let msg = match spec.success_msg {
            Some(Json::String(s)) => s,
            Some(other) => other.to_string(),
            None if spec.quiet => String::new(),
            None => "All assertions passed".to_owned(),
        };
        Ok(Plan::done(Outcome::ok(msg)))
    }
}
