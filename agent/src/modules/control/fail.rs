//! `fail`: stop the play with a message.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `fail` module.
pub struct Fail;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailSpec {
    msg: Option<Json>,
}

impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["msg"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        // Bytes (`!!binary`) in the message are shown as Ansible's display shows them.
        let spec: FailSpec = parse_args("fail", &crate::pybytes::for_display(args).0)?;
        let msg = match spec.msg {
            None => "Failed as requested from task".to_owned(),
            Some(Json::String(s)) => s,
            Some(other) => other.to_string(),
        };
        Ok(Plan::done(Outcome::failed(msg)))
    }
}
