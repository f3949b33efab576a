//! Small readers for keyword values, with located errors.

use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, NodeValue};

/// A scalar as text (`1` → "1", `yes` → "true"); a list or mapping is an error.
pub fn text_of(v: &Node, what: &str) -> Result<String, Diagnostic> {
    v.scalar_text().ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`{what}` must be a string, found {}", v.kind()),
        )
    })
}

/// A boolean; YAML 1.1 words are already booleans, and "yes"/"no" strings are accepted too.
pub fn bool_of(v: &Node, what: &str) -> Result<bool, Diagnostic> {
    match &v.value {
        NodeValue::Bool(b) => Ok(*b),
        NodeValue::Str(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" => Ok(true),
            "no" | "false" | "off" | "0" => Ok(false),
            _ => Err(not_bool(v, what)),
        },
        NodeValue::Int(i) => Ok(*i != 0),
        _ => Err(not_bool(v, what)),
    }
}

fn not_bool(v: &Node, what: &str) -> Diagnostic {
    Diagnostic::new(
        v.loc.clone(),
        format!("`{what}` must be true or false, found {}", v.kind()),
    )
}

/// A string or a list of strings (`notify: restart app` or `notify: [a, b]`).
pub fn string_list(v: &Node, what: &str) -> Result<Vec<String>, Diagnostic> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    match v.as_seq() {
        Some(items) => items.iter().map(|i| text_of(i, what)).collect(),
        None => Ok(text_of(v, what)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
    }
}
