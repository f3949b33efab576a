//! Inline vault values the run cannot open. As in Ansible, such a value fails only where it
//! is used: the controller puts in its place a template that fails when rendered, naming
//! the variable and why it could not be opened; a play that never reads it runs.
//!
//! The one use that does not fail is Ansible's: `unvault` takes such a value's vault text
//! (its filter disarms the undecryptable marker) and opens it with its own secret. A render
//! that failed on one is tried again with each variable piped straight into `unvault`
//! (`NAME | unvault(...)`) held ([`HOLD`]), so that variable gives its vault text there.

use std::cell::RefCell;

use minijinja::{Environment, Error, ErrorKind};

const FUNCTION: &str = "_dr_undecryptable";

/// The function a retried render calls to hold a variable for `unvault`.
const HOLD_FUNCTION: &str = "_dr_vault_hold";

thread_local! {
    /// The variable whose next lookup gives its vault text rather than failing.
    static HOLD: RefCell<Option<String>> = const { RefCell::new(None) };
    /// One slot per top-level render in progress on this thread: the failure of the last
    /// undecryptable value any render within it used.
    static USED: RefCell<Vec<Option<String>>> = const { RefCell::new(Vec::new()) };
}

/// The template that stands for the inline vault value `what` (a variable's name) that
/// could not be opened for `reason`; `vault` is the value as written.
pub fn marker(what: &str, reason: &str, vault: &str) -> String {
    format!(
        "{{{{ {FUNCTION}({}, {}, {}) }}}}",
        literal(what),
        literal(reason),
        literal(vault.trim())
    )
}

/// The vault text of the marker `src` when `name` is held for `unvault` (the hold is
/// used up either way).
pub(super) fn held_vault(name: &str, src: &str) -> Option<String> {
    let held = HOLD.with(|h| h.borrow_mut().take_if(|held| held == name).is_some());
    if !held {
        return None;
    }
    let expr = src.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let args = expr
        .strip_prefix(&format!("{FUNCTION}("))?
        .strip_suffix(')')?;
    // The third literal; the first two hold no `"` (see [`literal`]).
    let vault = args
        .splitn(3, "\", ")
        .nth(2)?
        .strip_prefix('"')?
        .strip_suffix('"')?;
    // Its lines were joined with spaces: a vault's header, then its hex lines.
    Some(vault.split_whitespace().collect::<Vec<_>>().join("\n"))
}

/// Ends a retried render: no variable stays held.
pub(super) fn release() {
    HOLD.with(|h| h.borrow_mut().take());
}

/// Runs `render` (a top-level render and what it renders within).
pub(super) fn tracking<T>(render: impl FnOnce() -> T) -> T {
    USED.with(|u| u.borrow_mut().push(None));
    let out = render();
    USED.with(|u| u.borrow_mut().pop());
    out
}

/// Records the failure of a variable whose render failed with `message`, when it is an
/// undecryptable value's: the variable is undefined to the template using it, and showing
/// a mapping or list that holds it fails with this ([`shown_inside`]), as in Ansible.
pub(super) fn record(message: &str) {
    let Some(at) = message.find("Attempt to use undecryptable variable") else {
        return;
    };
    USED.with(|u| {
        for slot in u.borrow_mut().iter_mut() {
            *slot = Some(message[at..].to_owned());
        }
    });
}

/// Why showing `v` fails: it holds a value left undefined by an undecryptable one the
/// render used ([`record`]). Asked after `v` was shown (which renders what it holds, so
/// records such a value), it costs nothing unless the render met one.
pub(crate) fn shown_inside(v: &minijinja::Value) -> Option<Error> {
    let used = USED.with(|u| u.borrow().last().cloned().flatten())?;
    super::scope::holds_undefined(v).then(|| Error::new(ErrorKind::InvalidOperation, used))
}

/// Whether an error's message is that of an undecryptable value used.
pub(super) fn names_one(message: &str) -> bool {
    message.contains("Attempt to use undecryptable variable")
}

/// `source` with each variable piped straight into `unvault` held for it (`None`: there is
/// none).
pub(super) fn hold_for_unvault(source: &str) -> Option<String> {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    let mut changed = false;
    while let Some(at) = rest.find("unvault") {
        let (before, after) = rest.split_at(at);
        let piped = before.trim_end().strip_suffix('|').map(str::trim_end);
        let name_start = piped.map(|p| {
            p.len()
                - p.chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .map(char::len_utf8)
                    .sum::<usize>()
        });
        match (piped, name_start) {
            (Some(p), Some(start))
                if start < p.len()
                    && !p[start..].starts_with(|c: char| c.is_ascii_digit())
                    && !p[..start].ends_with(['.', ']', ')', '\'', '"']) =>
            {
                let name = &p[start..];
                out.push_str(&p[..start]);
                out.push_str(&format!(
                    "({name} if {HOLD_FUNCTION}('{name}') else none) | "
                ));
                changed = true;
            }
            _ => out.push_str(before),
        }
        out.push_str("unvault");
        rest = &after["unvault".len()..];
    }
    out.push_str(rest);
    HOLD.with(|h| h.borrow_mut().take());
    changed.then_some(out)
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
    env.add_function(HOLD_FUNCTION, |name: String| {
        HOLD.with(|h| *h.borrow_mut() = Some(name));
        true
    });
    env.add_function(
        FUNCTION,
        |what: String, reason: String, _vault: Option<String>| -> Result<String, Error> {
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
        let m = marker(
            "db.password",
            "no vault key to open it: pass \"--x\" {y}\n",
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n6364\n",
        );
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

#[cfg(test)]
mod used_tests {
    use super::*;

    #[test]
    fn a_mapping_holding_an_unopened_value_fails_where_shown() {
        let map = minijinja::Value::from_iter([
            ("a", minijinja::Value::from(1)),
            ("b", minijinja::Value::UNDEFINED),
        ]);
        tracking(|| {
            assert!(
                shown_inside(&map).is_none(),
                "no undecryptable value was used"
            );
            record("in `x`: Attempt to use undecryptable variable `v`: why");
            let e = shown_inside(&map).expect("found");
            assert!(
                e.to_string()
                    .contains("Attempt to use undecryptable variable `v`: why"),
                "{e}"
            );
            assert!(shown_inside(&minijinja::Value::from(1)).is_none());
        });
    }
}
