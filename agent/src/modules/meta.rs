//! `meta`: engine actions (`flush_handlers`, `end_host`, `end_play`, `end_batch`, `noop`,
//! `clear_host_errors`).
//!
//! A node is one play on one host, so `end_play` and `end_batch` end the play on the host
//! that runs them; hosts that do not reach the task go on (Ansible would end them too).
//! `clear_host_errors` has nothing to clear: a host whose play failed has stopped.

use serde_json::Value as Json;

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan};

/// The `meta` actions dr runs; the controller refuses the others at parse time.
pub const SUPPORTED: &[&str] = &[
    "flush_handlers",
    "end_host",
    "end_play",
    "end_batch",
    "noop",
    "clear_host_errors",
];

/// The `meta` module.
pub struct Meta;

impl Module for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[]
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let action = match args {
            Json::String(s) => s.trim(),
            Json::Object(m) => m
                .get("_raw_params")
                .and_then(Json::as_str)
                .unwrap_or_default(),
            _ => "",
        };
        match action {
            "flush_handlers" => Ok(Plan::done(Outcome {
                flush_handlers: true,
                ..Outcome::default()
            })),
            "end_host" | "end_play" | "end_batch" => Ok(Plan::done(Outcome {
                end_host: true,
                msg: format!("{action}: the play ends on this host"),
                ..Outcome::default()
            })),
            "noop" | "clear_host_errors" => Ok(Plan::done(Outcome::default())),
            other => Err(ArgsError::new(
                "meta",
                format!(
                    "unsupported action `{other}` (dr supports {})",
                    SUPPORTED.join(", ")
                ),
            )
            .into()),
        }
    }
}
