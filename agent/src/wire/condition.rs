//! One `when:` condition as the playbook wrote it.
//!
//! Ansible keeps a `when:` item as YAML gave it: an expression string, or a boolean
//! (`when: false`). The distinction is observable: a skipped result's `false_condition` is
//! that item itself, so `when: false` registers `false_condition: false` (the boolean) while
//! `when: "false"` registers the string.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `when:` item: an expression, or a YAML boolean (which Ansible takes as its own
/// result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// `when: true` / `when: false`, written as a YAML boolean.
    Literal(bool),
    /// A Jinja expression without braces (or a template giving one).
    Expr(String),
}

impl Condition {
    /// The expression to evaluate: a literal as the Jinja literal with its value.
    pub fn as_str(&self) -> &str {
        match self {
            Condition::Literal(true) => "True",
            Condition::Literal(false) => "False",
            Condition::Expr(s) => s,
        }
    }

    /// The condition as Ansible reports it in `false_condition`: the boolean or the text.
    pub fn to_json(&self) -> Value {
        match self {
            Condition::Literal(b) => Value::Bool(*b),
            Condition::Expr(s) => Value::from(s.as_str()),
        }
    }
}

impl From<&str> for Condition {
    fn from(s: &str) -> Self {
        Condition::Expr(s.to_owned())
    }
}

impl From<String> for Condition {
    fn from(s: String) -> Self {
        Condition::Expr(s)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_boolean_stays_a_boolean_on_the_wire() {
        let c: Vec<Condition> = serde_json::from_str(r#"[false, "false", "x == 1"]"#).unwrap();
        assert_eq!(
            c,
            [
                Condition::Literal(false),
                Condition::from("false"),
                Condition::from("x == 1")
            ]
        );
        assert_eq!(c[0].to_json(), Value::Bool(false));
        assert_eq!(c[1].to_json(), Value::from("false"));
        assert_eq!(c[0].as_str(), "False");
    }
}
