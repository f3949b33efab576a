//! `pause` with `seconds` or `minutes`: waits that long, as Ansible's action does (a
//! `prompt` is shown and any answer ignored; result `start`, `stop`, `delta`,
//! `stdout: Paused for N seconds`, `user_input: ''`, `echo`). Waiting for someone to press
//! Enter (no duration) needs the controller's terminal in the middle of a play, which dr
//! does not do: refused rather than skipped (Ansible skips it when stdin is not a terminal).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::bool_ish;
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `pause` module.
pub struct Pause;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseSpec {
    minutes: Option<Json>,
    seconds: Option<Json>,
    prompt: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    echo: bool,
}

impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["minutes", "seconds", "prompt", "echo"]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: PauseSpec = parse_args("pause", args)?;
        let (count, unit) = match (&spec.minutes, &spec.seconds) {
            (Some(_), Some(_)) => {
                return Err(ArgsError::new(
                    "pause",
                    "parameters are mutually exclusive: minutes|seconds",
                )
                .into());
            }
            (Some(m), None) => (int("minutes", m)?, "minutes"),
            (None, Some(s)) => (int("seconds", s)?, "seconds"),
            (None, None) => {
                return Err(ArgsError::new(
                    "pause",
                    "without `seconds` or `minutes` it waits for Enter on the controller's terminal, which dr does not do mid-play; give a duration",
                )
                .into());
            }
        };
        let seconds = if unit == "minutes" { count * 60 } else { count }.max(1);
        let start = Instant::now();
        let started_at = now();
        std::thread::sleep(Duration::from_secs(seconds.unsigned_abs()));
        let elapsed = start.elapsed().as_secs_f64();
        let shown = if unit == "minutes" {
            round2(elapsed / 60.0)
        } else {
            round2(elapsed)
        };
        let stdout = format!(
            "Paused for {} {unit}",
            crate::template::pyrepr::float_repr(shown)
        );
        let msg = match &spec.prompt {
            Some(p) => format!("{p}: {stdout}"),
            None => stdout.clone(),
        };
        let mut outcome = Outcome::ok(msg);
        let data = &mut outcome.data;
        data.insert("start".into(), Json::from(started_at));
        data.insert("stop".into(), Json::from(now()));
        data.insert("delta".into(), Json::from(elapsed as u64));
        data.insert("stdout".into(), Json::from(stdout));
        data.insert("stderr".into(), Json::from(""));
        data.insert("rc".into(), Json::from(0));
        data.insert("user_input".into(), Json::from(""));
        data.insert("echo".into(), Json::from(spec.echo));
        Ok(Plan::done(outcome))
    }
}

/// Python's `int()` of the value, as the action's argument spec converts it.
fn int(key: &str, v: &Json) -> Result<i64, ArgsError> {
    let n = match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Json::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| ArgsError::new("pause", format!("`{key}` must be a whole number, not {v}")))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Local time as Python's `str(datetime.now())`.
fn now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Pause;
    use crate::modules::testutil::Harness;

    #[test]
    fn waits_its_seconds_changes_nothing_and_says_so() {
        let h = Harness::new();
        let start = std::time::Instant::now();
        let plan = h.check(&Pause, json!({"seconds": "1"}));
        assert!(start.elapsed() >= std::time::Duration::from_secs(1));
        assert!(!plan.outcome.changed && plan.action.is_none());
        let stdout = plan.outcome.data["stdout"].as_str().unwrap_or_default();
        assert!(stdout.starts_with("Paused for 1."), "{stdout}");
        assert!(stdout.ends_with(" seconds"), "{stdout}");
        assert_eq!(plan.outcome.data["delta"], 1);
        assert_eq!(plan.outcome.data["user_input"], "");
    }

    #[test]
    fn waiting_for_a_person_is_refused() {
        let h = Harness::new();
        assert!(h.check_err(&Pause, json!({})).contains("give a duration"));
        let err = h.check_err(&Pause, json!({"prompt": "ok?"}));
        assert!(err.contains("give a duration"), "{err}");
        let err = h.check_err(&Pause, json!({"seconds": 1, "minutes": 1}));
        assert!(err.contains("mutually exclusive"), "{err}");
    }
}
