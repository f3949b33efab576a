//! `set_fact`: set host variables for the rest of the play.

use serde_json::Value as Json;

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan};

/// The `set_fact` module.
pub struct SetFact;

impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }

    /// Any key is a fact name; `cacheable` is accepted and ignored (dr keeps no fact cache).
    fn arg_names(&self) -> &'static [&'static str] {
        &[]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let Json::Object(map) = args else {
            return Err(ArgsError::new("set_fact", "expected a mapping of facts").into());
        };
        let mut outcome = Outcome::default();
        for (k, v) in map {
            if k == "cacheable" {
                continue;
            }
            if !is_identifier(k) {
                return Err(ArgsError::new(
                    "set_fact",
                    format!("`{k}` is not a valid variable name"),
                )
                .into());
            }
            outcome.facts.insert(k.clone(), v.clone());
        }
        outcome
            .data
            .insert("ansible_facts".into(), Json::Object(outcome.facts.clone()));
        Ok(Plan::done(outcome))
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
