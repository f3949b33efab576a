//! One conditional as Ansible 2.19 evaluates it (`TemplateEngine.evaluate_conditional`),
//! for `assert`'s `that`, whose items keep their YAML types.
//!
//! A boolean is its own result. A string is stripped; an empty one (or `null`) is an
//! error, as is any other type. A string that starts and ends with template delimiters is
//! rendered first: a string result is the expression to evaluate (indirection, allowed for
//! trusted text only), anything else is the result itself, with Ansible's deprecation
//! warning. The expression's result must be a boolean.

use serde_json::Value as Json;

use super::{Scope, TemplateError, is_template, single_expression};

/// Ansible's deprecation for a conditional written as a template (`that: "{{ x }}"`).
pub const AS_TEMPLATE: &str =
    "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.";

/// The ansible-core version Ansible names in that deprecation.
pub const AS_TEMPLATE_REMOVED_IN: &str = "2.23";

/// What one conditional gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// Whether it holds.
    pub holds: bool,
    /// It was a template whose result was no expression (deprecated in Ansible).
    pub deprecated: bool,
    /// Its result was no boolean, allowed by `ALLOW_BROKEN_CONDITIONALS`: Ansible's
    /// deprecation message.
    pub broken: Option<String>,
}

/// Why a conditional could not be evaluated, in Ansible's words.
#[derive(Debug, thiserror::Error)]
pub enum ConditionalError {
    /// `null`, or a string that is empty once stripped.
    #[error("Empty conditional expressions are not allowed.")]
    Empty,
    /// A number, list or mapping.
    #[error("Conditional expressions must be strings.")]
    NotString,
    /// The expression gave something other than a boolean.
    #[error(
        "Conditional result ({truthy}) was derived from value of type '{type_name}' at '<unknown>'. Conditionals must have a boolean result."
    )]
    NotBoolean {
        /// Python's truth of the result (`True`/`False`).
        truthy: &'static str,
        /// Python's name of the result's type.
        type_name: &'static str,
    },
    /// Text that is no trusted template or expression (made by a template, or `!unsafe`).
    #[error("{UNTRUSTED}")]
    Untrusted,
    /// Rendering or evaluating failed.
    #[error(transparent)]
    Template(TemplateError),
}

const UNTRUSTED: &str = "Encountered untrusted template or expression.";

impl From<TemplateError> for ConditionalError {
    fn from(e: TemplateError) -> Self {
        match e {
            TemplateError::Render { detail, .. } if detail == UNTRUSTED => {
                ConditionalError::Untrusted
            }
            other => ConditionalError::Template(other),
        }
    }
}

/// Ansible's `is_possibly_all_template`: starts with a Jinja start delimiter and ends with
/// an end delimiter (or starts with an overrides header).
pub fn is_all_template(s: &str) -> bool {
    s.starts_with("#jinja2:")
        || (["{{", "{%", "{#"].iter().any(|m| s.starts_with(m))
            && ["}}", "%}", "#}"].iter().any(|m| s.ends_with(m)))
}

/// The global that says Ansible's `ALLOW_BROKEN_CONDITIONALS` is on.
pub(super) const ALLOW_BROKEN: &str = "__dr_allow_broken_conditionals";

impl Scope {
    /// Evaluates `cond` as Ansible's `evaluate_conditional` does.
    pub fn evaluate_conditional(&self, cond: &Json) -> Result<Evaluated, ConditionalError> {
        match self.evaluate_strictly(cond) {
            // `ALLOW_BROKEN_CONDITIONALS`: a non-boolean result is its truthiness, and an
            // empty conditional is true, each with a deprecation (Ansible's legacy rule).
            Err(ConditionalError::NotBoolean { truthy, type_name }) if self.allows_broken() => {
                let message = ConditionalError::NotBoolean { truthy, type_name }.to_string();
                Ok(Evaluated {
                    holds: truthy == "True",
                    deprecated: false,
                    broken: Some(message),
                })
            }
            Err(ConditionalError::Empty) if self.allows_broken() => Ok(Evaluated {
                holds: true,
                deprecated: false,
                broken: Some("Empty conditional expression was evaluated as True.".into()),
            }),
            other => other,
        }
    }

    fn evaluate_strictly(&self, cond: &Json) -> Result<Evaluated, ConditionalError> {
        let text = match stripped(cond)? {
            Json::Bool(b) => return Ok(plain(b)),
            Json::String(s) => s,
            _ => return Err(ConditionalError::NotString),
        };
        let (expression, deprecated) = if is_all_template(&text) {
            self.check_trusted_conditional(&text)?;
            self.check_trusted_items(&text)?;
            match stripped(&self.render_value(&Json::String(text.clone()))?)? {
                // Indirection: the template names a trusted expression. A template of
                // several parts (`{{ a }} == {{ b }}`) makes a new string, never trusted.
                Json::String(expr) if single_expression(&text).is_some() => (expr, false),
                Json::String(_) => return Err(ConditionalError::Untrusted),
                other => return result(&other, true),
            }
        } else if self.is_made(&text) {
            return Err(ConditionalError::Untrusted);
        } else {
            (text, false)
        };
        // Templates inside the expression's string constants are rendered first, except a
        // lookup's terms: the lookup renders those when it runs, and a plugin may take an
        // undefined one (Ansible renders each constant where it is used).
        let expression = if is_template(&expression) {
            let (masked, calls) = mask_lookup_calls(&expression);
            if is_template(&masked) {
                match self.render_value(&Json::String(masked))? {
                    Json::String(s) => unmask(s, &calls),
                    other => return result(&other, deprecated),
                }
            } else {
                expression
            }
        } else {
            expression
        };
        // As Ansible: backslashes in the expression as written (`escape_backslashes=False`).
        result(&self.eval_condition(&expression)?, deprecated)
    }
}

/// Marks a lookup call's span while the expression's other constants are rendered.
const MASK: char = '\u{1}';

/// `expr` with each `lookup(...)`, `query(...)`, `q(...)` call replaced by a marker, and
/// the calls, in order.
fn mask_lookup_calls(expr: &str) -> (String, Vec<String>) {
    let mut masked = String::with_capacity(expr.len());
    let mut calls = Vec::new();
    let mut rest = expr;
    while let Some(at) = next_call(rest) {
        let Some(close) = rest[at..].find('(').and_then(|open| {
            super::guards::closing(&rest[at + open..], '(', ')').map(|c| at + open + c)
        }) else {
            break;
        };
        masked.push_str(&rest[..at]);
        masked.push(MASK);
        masked.push_str(&calls.len().to_string());
        masked.push(MASK);
        calls.push(rest[at..=close].to_owned());
        rest = &rest[close + 1..];
    }
    masked.push_str(rest);
    (masked, calls)
}

/// Where the next `lookup(`, `query(` or `q(` call starts in `s` (a whole word).
fn next_call(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            if matches!(&s[start..i], "lookup" | "query" | "q")
                && s[i..].trim_start().starts_with('(')
            {
                return Some(start);
            }
            continue;
        }
        i += 1;
    }
    None
}

/// The rendered `masked` with the lookup calls put back.
fn unmask(masked: String, calls: &[String]) -> String {
    if calls.is_empty() {
        return masked;
    }
    let mut out = String::with_capacity(masked.len());
    let mut parts = masked.split(MASK);
    out.push_str(parts.next().unwrap_or_default());
    while let (Some(index), Some(text)) = (parts.next(), parts.next()) {
        match index.parse::<usize>().ok().and_then(|i| calls.get(i)) {
            Some(call) => out.push_str(call),
            None => {
                out.push(MASK);
                out.push_str(index);
                out.push(MASK);
            }
        }
        out.push_str(text);
    }
    out
}

/// `cond` stripped of surrounding whitespace when it is a string; empty is an error.
fn stripped(cond: &Json) -> Result<Json, ConditionalError> {
    match cond {
        Json::Null => Err(ConditionalError::Empty),
        Json::String(s) if s.trim().is_empty() => Err(ConditionalError::Empty),
        Json::String(s) => Ok(Json::String(s.trim().to_owned())),
        other => Ok(other.clone()),
    }
}

fn plain(holds: bool) -> Evaluated {
    Evaluated {
        holds,
        deprecated: false,
        broken: None,
    }
}

/// The conditional's result: a boolean, or the broken-conditional error.
fn result(value: &Json, deprecated: bool) -> Result<Evaluated, ConditionalError> {
    match value {
        Json::Bool(holds) => Ok(Evaluated {
            holds: *holds,
            deprecated,
            broken: None,
        }),
        other => Err(ConditionalError::NotBoolean {
            truthy: if crate::modules::argspec::truthy(other) {
                "True"
            } else {
                "False"
            },
            type_name: crate::modules::argspec::type_name(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::Templater;

    fn scope() -> Scope {
        let vars = json!({"a": "one", "checks": ["1 == 1"], "n": 3, "bs": "\\z"});
        Templater::new().scope(vars.as_object().unwrap().clone())
    }

    fn eval(cond: Json) -> Result<Evaluated, String> {
        scope()
            .evaluate_conditional(&cond)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn booleans_and_expressions() {
        assert_eq!(eval(json!(true)), Ok(plain(true)));
        assert_eq!(eval(json!(" a == 'one' ")), Ok(plain(true)));
        assert_eq!(eval(json!("n > 5")), Ok(plain(false)));
        assert_eq!(eval(json!("\"one\" == \"o{{ 'ne' }}\"")), Ok(plain(true)));
        // Backslashes as written: `'\\z'` is Jinja's `\z`.
        assert_eq!(eval(json!(r"bs == '\\z'")), Ok(plain(true)));
    }

    #[test]
    fn empty_and_non_strings_are_errors() {
        let empty = "Empty conditional expressions are not allowed.";
        assert_eq!(eval(json!(null)).unwrap_err(), empty);
        assert_eq!(eval(json!("  ")).unwrap_err(), empty);
        let not_string = "Conditional expressions must be strings.";
        assert_eq!(eval(json!(1)).unwrap_err(), not_string);
        assert_eq!(eval(json!({"a": 1})).unwrap_err(), not_string);
    }

    #[test]
    fn a_result_must_be_a_boolean() {
        assert_eq!(
            eval(json!("'abc'")).unwrap_err(),
            "Conditional result (True) was derived from value of type 'str' at '<unknown>'. \
             Conditionals must have a boolean result."
        );
        assert!(eval(json!("n")).unwrap_err().contains("(True)"));
        assert!(eval(json!("n")).unwrap_err().contains("'int'"));
    }

    #[test]
    fn templates_are_deprecated_unless_they_name_an_expression() {
        let wrapped = Evaluated {
            holds: true,
            deprecated: true,
            broken: None,
        };
        assert_eq!(eval(json!("{{ n == 3 }}")), Ok(wrapped));
        assert_eq!(eval(json!("{{ checks[0] }}")), Ok(plain(true)));
        let meta = eval(json!("{{ 'a' }} == {{ 'a' }}")).unwrap_err();
        assert!(meta.contains("untrusted"), "{meta}");
    }

    #[test]
    fn all_template_is_ansibles_test() {
        assert!(is_all_template("{{ x }}"));
        assert!(is_all_template("{% if x %}1{% endif %}"));
        assert!(is_all_template("{{ a }} == {{ b }}"));
        assert!(!is_all_template("x == '{{ y }}'"));
    }

    #[test]
    fn a_lookups_terms_are_left_to_the_lookup() {
        let expr = "lookup('p', '{{ a }}')[1] == '{{ b }}' and q(\"x\", f('(')) | length";
        let (masked, calls) = super::mask_lookup_calls(expr);
        assert_eq!(calls, ["lookup('p', '{{ a }}')", "q(\"x\", f('('))"]);
        assert!(!masked.contains("{{ a }}") && masked.contains("'{{ b }}'"));
        assert_eq!(super::unmask(masked, &calls), expr);
        assert_eq!(
            super::mask_lookup_calls("x.q(1) == 'q'").1,
            Vec::<String>::new()
        );
    }

    #[test]
    fn allow_broken_conditionals_takes_the_truthiness_with_a_deprecation() {
        let strict = Templater::new().scope(serde_json::Map::new());
        assert!(matches!(
            strict.evaluate_conditional(&json!("'broken static'")),
            Err(ConditionalError::NotBoolean { .. })
        ));
        let allowed = Templater::new()
            .allowing_broken_conditionals(true)
            .scope(serde_json::Map::new());
        let e = allowed
            .evaluate_conditional(&json!("'broken static'"))
            .unwrap();
        assert!(e.holds);
        assert_eq!(
            e.broken.as_deref(),
            Some(
                "Conditional result (True) was derived from value of type 'str' at '<unknown>'. Conditionals must have a boolean result."
            )
        );
        assert!(!allowed.evaluate_conditional(&json!("''")).unwrap().holds);
        assert!(allowed.evaluate_conditional(&json!("")).unwrap().holds);
        assert!(
            allowed
                .evaluate_conditional(&json!("1 == 1"))
                .unwrap()
                .broken
                .is_none()
        );
    }
}
