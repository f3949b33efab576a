//! `meta`: engine actions (`flush_handlers`, `end_host`, `end_play`, `end_batch`, `noop`,
//! `clear_host_errors`, `reset_connection` over the local connection, `refresh_inventory`).
//!
//! The engine settles `end_play`, `end_batch` and `clear_host_errors` with the other hosts
//! of the batch (`engine/flow.rs`): `end_play` ends the play for every host of the batch
//! and the batches after it, `end_batch` the batch, and `clear_host_errors` takes back the
//! failures of the batch's hosts so far (the host's own, in an `always`, and the other
//! hosts', for the plays after this one), as in Ansible.

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
    "reset_connection",
    "refresh_inventory",
    "end_role",
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
                msg: match action {
                    "end_host" => "end_host: the play ends on this host".into(),
                    other => format!("{other}: the play ends on every host of the batch"),
                },
                ..Outcome::default()
            })),
            // The engine skips the rest of the role (`engine/flow.rs`).
            "noop" | "clear_host_errors" | "end_role" => Ok(Plan::done(Outcome::default())),
            // Runs only over the local connection (the controller refuses it over SSH), whose
            // reset does nothing, as Ansible's local connection.
            "reset_connection" => Ok(Plan::done(Outcome::ok("reset connection".to_owned()))),
            // The controller reads the inventory again; the plays after this one choose
            // their hosts from it.
            "refresh_inventory" => Ok(Plan::done(Outcome {
                msg: "inventory successfully refreshed".to_owned(),
                inventory: Some(crate::wire::InventoryChange::Refresh),
                ..Outcome::default()
            })),
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
