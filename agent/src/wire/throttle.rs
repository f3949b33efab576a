//! `throttle`: how many hosts of a batch may run a task at the same time (Ansible's
//! keyword, on a task, block, role or play; the innermost wins).
//!
//! Ansible's strategy reads it when it queues the task for a host: `int()` of the value
//! rendered with the task's variables (the run stops with "Failed to convert the throttle
//! value to an integer." when Python's `int()` refuses it), then the task's keyword
//! validation refuses a number with a fraction (the task fails). A limit of 0 or less is
//! no limit. See `docs/cross-host.md` for how the hosts share the slots.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A task's `throttle:` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Throttle {
    /// A whole number: at most this many hosts at once (0 or less: no limit).
    Limit(i64),
    /// A template, rendered with the task's variables when the task is about to run on the
    /// host, which must give a whole number.
    Template(String),
}

/// Why a `throttle` value is not a number of hosts, in Ansible's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleError {
    /// Python's `int()` refuses the value (Ansible stops the run there); the reason as
    /// Python gives it.
    #[error("Failed to convert the throttle value to an integer: {0}")]
    NotInteger(String),
    /// A number with a fraction: `int()` takes it, the task's keyword validation does not
    /// (the task fails on each host); the value as Python prints it.
    #[error(
        "Task failed: Error processing keyword 'throttle': The value {0} could not be converted to 'int'."
    )]
    Fraction(String),
}

impl Throttle {
    /// Reads a value (as written, or rendered) as Ansible does: `int(value)` (a boolean
    /// is 0 or 1, a string is Python's integer literal), and no fraction.
    pub fn limit_of(value: &Value) -> Result<i64, ThrottleError> {
        let not = |kind: &str| {
            ThrottleError::NotInteger(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{kind}'"
            ))
        };
        match value {
            Value::Bool(b) => Ok(i64::from(*b)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(i),
                (None, Some(f)) if f.fract() == 0.0 => Ok(f as i64),
                (None, Some(f)) => Err(ThrottleError::Fraction(
                    crate::template::pyrepr::float_repr(f),
                )),
                // Larger than any host count: as good as no limit.
                (None, None) => Ok(i64::MAX),
            },
            Value::String(s) => crate::template::filters::python_int(s, 10)
                .map(|n| n.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
                .ok_or_else(|| {
                    ThrottleError::NotInteger(format!(
                        "invalid literal for int() with base 10: {}",
                        crate::template::pyrepr::repr_str(s)
                    ))
                }),
            Value::Null => Err(not("NoneType")),
            Value::Array(_) => Err(not("list")),
            Value::Object(_) => Err(not("dict")),
        }
    }

    /// How many hosts may run the task at once; `None` for no limit.
    pub fn slots(limit: i64) -> Option<u32> {
        (limit > 0).then(|| u32::try_from(limit).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_value_as_pythons_int_does() {
        assert_eq!(Throttle::limit_of(&json!(2)), Ok(2));
        assert_eq!(Throttle::limit_of(&json!(2.0)), Ok(2));
        assert_eq!(Throttle::limit_of(&json!(true)), Ok(1));
        assert_eq!(Throttle::limit_of(&json!(" +3 ")), Ok(3));
        assert_eq!(Throttle::limit_of(&json!("1_0")), Ok(10));
        assert_eq!(Throttle::limit_of(&json!(-1)), Ok(-1));
    }

    #[test]
    fn refuses_what_ansible_refuses_with_its_words() {
        assert_eq!(
            Throttle::limit_of(&json!("abc")).unwrap_err().to_string(),
            "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'abc'"
        );
        assert_eq!(
            Throttle::limit_of(&json!("2.5")).unwrap_err().to_string(),
            "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: '2.5'"
        );
        assert_eq!(
            Throttle::limit_of(&json!(null)).unwrap_err().to_string(),
            "Failed to convert the throttle value to an integer: int() argument must be a string, a bytes-like object or a real number, not 'NoneType'"
        );
        assert_eq!(
            Throttle::limit_of(&json!(2.5)).unwrap_err().to_string(),
            "Task failed: Error processing keyword 'throttle': The value 2.5 could not be converted to 'int'."
        );
    }

    #[test]
    fn zero_or_less_is_no_limit() {
        assert_eq!(Throttle::slots(0), None);
        assert_eq!(Throttle::slots(-4), None);
        assert_eq!(Throttle::slots(3), Some(3));
    }

    #[test]
    fn travels_as_a_number_or_a_template() {
        let limit: Throttle = serde_json::from_value(json!(1)).unwrap();
        assert_eq!(limit, Throttle::Limit(1));
        let template: Throttle = serde_json::from_value(json!("{{ n }}")).unwrap();
        assert_eq!(template, Throttle::Template("{{ n }}".into()));
    }
}
