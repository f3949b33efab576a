//! `wait_for_connection`: Ansible retries the connection and a `ping` until the host
//! answers. dr's agent runs the task on the host, so by then the connection works: the
//! task waits its `delay` and succeeds (`elapsed`), as Ansible's does on a reachable host.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value as Json;

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `wait_for_connection` module.
pub struct WaitForConnection;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    delay: f64,
    #[serde(default = "five")]
    connect_timeout: f64,
    #[serde(default = "one")]
    sleep: f64,
    #[serde(default = "six_hundred")]
    timeout: f64,
}

fn five() -> f64 {
    5.0
}
fn one() -> f64 {
    1.0
}
fn six_hundred() -> f64 {
    600.0
}

impl Module for WaitForConnection {
    fn name(&self) -> &'static str {
        "wait_for_connection"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["delay", "connect_timeout", "sleep", "timeout"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: Spec = parse_args("wait_for_connection", args)?;
        for (key, v) in [
            ("delay", spec.delay),
            ("connect_timeout", spec.connect_timeout),
            ("sleep", spec.sleep),
            ("timeout", spec.timeout),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(ArgsError::new(
                    "wait_for_connection",
                    format!("`{key}` must be a number of seconds >= 0"),
                )
                .into());
            }
        }
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(spec.delay));
        let elapsed = start.elapsed().as_secs();
        let mut outcome = Outcome::ok(format!("the host answered after {elapsed}s"));
        outcome.data.insert("elapsed".into(), Json::from(elapsed));
        Ok(Plan::done(outcome))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::WaitForConnection;
    use crate::modules::testutil::Harness;

    #[test]
    fn succeeds_after_its_delay_and_changes_nothing() {
        let h = Harness::new();
        let plan = h.check(&WaitForConnection, json!({"delay": 1, "timeout": 30}));
        assert!(!plan.outcome.changed && plan.action.is_none());
        assert_eq!(plan.outcome.data["elapsed"], 1);
        let err = h.check_err(&WaitForConnection, json!({"sleep": -1}));
        assert!(err.contains("`sleep`"), "{err}");
    }
}
