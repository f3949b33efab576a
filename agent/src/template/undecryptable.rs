//! Inline vault values the run cannot open. As in Ansible, such a value fails only where it
//! is used: the controller puts in its place a template that fails when rendered, naming
//! the variable and why it could not be opened; a play that never reads it runs.

use minijinja::{Environment, Error, ErrorKind};

const FUNCTION: &str = "_dr_undecryptable";

/// The template that stands for the inline vault value `what` (a variable's name) that
/// could not be opened for `reason`.
pub fn marker(what: &str, reason: &str) -> String {
    format!(
        "{{{{ {FUNCTION}({}, {}) }}}}",
        literal(what),
        literal(reason)
    )
}

/// A Jinja string literal holding `s` (brace and quote characters replaced, so the
/// marker stays one expression whatever the text).
fn literal(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            '{' => '(',
            '}' => ')',
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .collect();
    format!("\"{clean}\"")
}

/// What an error names as its template when `src` is a marker: the YAML tag the value
/// was written with, rather than the marker's own text.
pub(super) fn source_text(src: &str) -> Option<String> {
    let expr = src.trim_start().trim_start_matches("{{").trim_start();
    expr.starts_with(&format!("{FUNCTION}("))
        .then(|| "!vault".to_owned())
}

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function(
        FUNCTION,
        |what: String, reason: String| -> Result<String, Error> {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("Attempt to use undecryptable variable `{what}`: {reason}"),
            ))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::marker;
    use crate::template::Templater;
    use serde_json::json;

    #[test]
    fn the_value_fails_only_where_it_is_used() {
        let m = marker("db.password", "no vault key to open it: pass \"--x\" {y}\n");
        let vars = json!({"pw": m, "other": "fine", "holder": {"inner": m}});
        let serde_json::Value::Object(vars) = vars else {
            unreachable!()
        };
        let scope = Templater::new().scope(vars);
        assert_eq!(
            scope.render_string("{{ other }}").as_deref().ok(),
            Some("fine")
        );
        for src in [
            "{{ pw }}",
            "{{ holder | to_json }}",
            "{{ {'k': [holder]} | to_json }}",
        ] {
            let err = scope.render_string(src).expect_err(src).to_string();
            assert!(
                err.contains(
                    "Attempt to use undecryptable variable `db.password`: no vault key to open it"
                ),
                "{src}: {err}"
            );
        }
    }
}
