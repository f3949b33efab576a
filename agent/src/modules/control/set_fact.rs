//! `set_fact`: set host variables for the rest of the play.

use serde_json::Value as Json;

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan};

/// The `set_fact` module.
pub struct SetFact;

impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }

    /// Any key is a fact name, but `cacheable`: when true, the facts are host facts as well,
    /// which the controller's fact cache keeps across runs.
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
                outcome.facts_cacheable = cacheable(v)?;
                continue;
            }
            if let Some(why) = invalid_name(k) {
                return Err(ModuleError::Failed(why));
            }
            outcome.facts.insert(k.clone(), v.clone());
        }
        outcome
            .data
            .insert("ansible_facts".into(), Json::Object(outcome.facts.clone()));
        Ok(Plan::done(outcome))
    }
}

/// `cacheable` read as Ansible's strict `boolean()` reads it.
fn cacheable(v: &Json) -> Result<bool, ModuleError> {
    let short = match v {
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "t" => Some(true),
            "f" => Some(false),
            _ => None,
        },
        Json::Number(n) => n
            .as_f64()
            .and_then(|f| (f == 1.0 || f == 0.0).then_some(f == 1.0)),
        _ => None,
    };
    short.or_else(|| super::args::json_bool(v)).ok_or_else(|| {
        let shown = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        ModuleError::Failed(format!(
            "The value '{shown}' is not a valid boolean.  Valid booleans include: 0, 'on', 'f', 'false', 1, 'no', 'n', '1', '0', 't', 'y', 'off', 'yes', 'true'"
        ))
    })
}

/// Ansible's `validate_variable_name` message for a fact name that is not a variable
/// name: not an ASCII identifier, or a Jinja keyword. A name that reads as a number or a
/// boolean came from a template rendering one (`"{{ 1 }}"`), named with its type as Ansible
/// names it.
fn invalid_name(name: &str) -> Option<String> {
    const JINJA_KEYWORDS: [&str; 7] = ["true", "false", "none", "True", "False", "None", "not"];
    if is_identifier(name) && !JINJA_KEYWORDS.contains(&name) {
        return None;
    }
    let type_name = if name.parse::<i64>().is_ok() {
        Some("int")
    } else if name.parse::<f64>().is_ok() {
        Some("float")
    } else {
        None
    };
    let typed = type_name.map_or_else(String::new, |t| format!(" of type '{t}'"));
    Some(format!(
        "Invalid variable name '{name}'{typed}. Variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores."
    ))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
