//! `debug`: show a message or a variable.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `debug` module.
pub struct Debug;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DebugSpec {
    msg: Option<Json>,
    var: Option<String>,
    #[allow(dead_code)]
    verbosity: Option<Json>,
}

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["msg", "var", "verbosity"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: DebugSpec = parse_args("debug", args)?;
        let mut outcome = Outcome::default();
        let text = match (&spec.var, &spec.msg) {
            (Some(var), _) => {
                let value = match ctx.scope.eval(var) {
                    Ok(v) => v,
                    Err(crate::template::TemplateError::Undefined { .. }) => {
                        Json::String("VARIABLE IS NOT DEFINED!".into())
                    }
                    Err(e) => return Err(ModuleError::Failed(e.to_string())),
                };
                outcome.data.insert(var.clone(), value.clone());
                format!("{var}: {}", display(&value))
            }
            (None, Some(msg)) => {
                outcome.data.insert("msg".into(), msg.clone());
                display(msg)
            }
            (None, None) => "Hello world!".to_owned(),
        };
        outcome.msg = text.clone();
        outcome.messages.push(text);
        Ok(Plan::done(outcome))
    }
}

/// Strings as they are, everything else as indented JSON.
fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}
