//! `meta`: engine actions (`flush_handlers`, `noop`).

use serde_json::Value as Json;

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan};

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
            "noop" => Ok(Plan::done(Outcome::default())),
            other => Err(ArgsError::new(
                "meta",
                format!("unsupported action `{other}` (dr supports `flush_handlers` and `noop`)"),
            )
            .into()),
        }
    }
}
