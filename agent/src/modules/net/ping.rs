//! `ping`: proves the host runs modules (Ansible's module of the same name): returns `data`
//! as `ping`, and fails as Ansible's does when `data` is `crash`.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `ping` module.
pub struct Ping;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingSpec {
    data: Option<Json>,
}

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["data"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: PingSpec = parse_args("ping", args)?;
        let data = match spec.data {
            None | Some(Json::Null) => Json::from("pong"),
            Some(Json::String(s)) => Json::from(s),
            Some(other) => Json::from(other.to_string()),
        };
        if data == "crash" {
            return Err(ModuleError::Failed(
                "boom: Exception: boom (ping with data=crash)".into(),
            ));
        }
        let mut outcome = Outcome::ok(String::new());
        outcome.data.insert("ping".into(), data);
        Ok(Plan::done(outcome))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Ping;
    use crate::modules::testutil::Harness;

    #[test]
    fn answers_pong_or_the_data_and_changes_nothing() {
        let h = Harness::new();
        let plan = h.check(&Ping, json!({}));
        assert!(!plan.outcome.changed && plan.action.is_none());
        assert_eq!(plan.outcome.data["ping"], "pong");
        let applied = h.apply(&Ping, json!({"data": "reachable"}));
        assert!(!applied.changed);
        assert_eq!(applied.data["ping"], "reachable");
        let err = h.check_err(&Ping, json!({"data": "crash"}));
        assert!(err.contains("boom"), "{err}");
    }
}
