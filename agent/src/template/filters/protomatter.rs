//! Filters and tests of Ansible's internal `ansible._protomatter` collection that have a
//! meaning for dr's values. `finalize` turns what a template produced into plain data (a
//! group of `groupby` into a list, ...), as Ansible finalizes a template's result: dr's
//! values are plain data already, except such objects.
//!
//! `tagged_with('TrustedAsTemplate')` answers as Ansible's tags would: a string is trusted
//! when it is a variable's value as a trusted source wrote it (play, inventory and role
//! variables, vars files, `-e`, a `set_fact` or `include_vars` result that rendered no
//! template), reached by lookups and attribute access only; a string a template or filter
//! made, a module's or loop's result, and anything not a string are not. dr keeps trust per
//! variable (see `Scope`), and while a render that asks is in progress the strings it
//! reads from trusted variables are marked ([`mark_trusted`]): as Ansible's tags, a mark
//! stays on the value itself and is gone from any new string made from it. Other tags are
//! answered where dr can know them (never on a value that is not a string; `VaultedValue`
//! never on text no vault opened) and refused otherwise.

use std::cell::RefCell;
use std::collections::HashMap;

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Value};

/// The tags Ansible 2.19 knows by name.
const TAGS: [&str; 6] = [
    "Deprecated",
    "Origin",
    "SourceWasEncrypted",
    "TrustedAsTemplate",
    "VaultedValue",
    "_JinjaConstTemplate",
];

/// What a render asking for tags needs: whether one is in progress, and the marked
/// strings by address (kept alive, so an address is never reused while it is asked).
#[derive(Default)]
struct Marks {
    depth: usize,
    marks: HashMap<usize, Mark>,
    held: Vec<Value>,
}

/// The tags dr knows on one string.
#[derive(Default)]
struct Mark {
    trusted: bool,
    /// Ansible's `Origin`, as its filter shows it.
    origin: Option<String>,
    /// An inline `!vault` value's plaintext (`VaultedValue`): `Some(true)` read from a
    /// variable as written; `Some(false)` the same text read from a result (a template may
    /// have made it, which Ansible would not tag: not known).
    vaulted: Option<bool>,
}

thread_local! {
    static MARKS: RefCell<Marks> = RefCell::default();
}

/// Runs `render` of `source`, marking trusted strings when `source` asks about tags (or
/// an enclosing render does).
pub(in crate::template) fn tracking<T>(source: &str, render: impl FnOnce() -> T) -> T {
    let asks = source.contains("tagged_with")
        || source.contains("_protomatter.origin")
        || source.contains("vault_encrypted");
    let active = MARKS.with(|m| m.borrow().depth > 0);
    if !asks && !active {
        return render();
    }
    MARKS.with(|m| m.borrow_mut().depth += 1);
    let out = render();
    MARKS.with(|m| {
        let mut m = m.borrow_mut();
        m.depth -= 1;
        if m.depth == 0 {
            *m = Marks::default();
        }
    });
    out
}

/// `text`, a trusted variable's string, as a template value: marked as trusted while a
/// render that asks about tags is in progress, a plain string otherwise.
pub(in crate::template) fn mark_trusted(text: &str) -> Value {
    marked(
        text,
        Mark {
            trusted: true,
            ..Mark::default()
        },
    )
}

/// `text`, an inline `!vault` value's plaintext read from a variable (`as_written`: one a
/// trusted source wrote, not a result), marked so while a render that asks about tags is
/// in progress. Never trusted as a template, as in Ansible.
pub(in crate::template) fn mark_vaulted(text: &str, as_written: bool) -> Value {
    marked(
        text,
        Mark {
            vaulted: Some(as_written),
            ..Mark::default()
        },
    )
}

/// Whether `v` is an inline `!vault` value itself: `Some(true)` it is, `None` it is not
/// (no vault opened it, or it is text made from one), `Some(false)` not known.
pub(in crate::template) fn vaulted(v: &Value) -> Option<bool> {
    with_mark(v, |m| m.vaulted).flatten()
}

/// `text`, a value that came from `origin` (Ansible's words: `<environment variable 'X'>`),
/// marked so while a render that asks about tags is in progress.
pub(in crate::template) fn mark_origin(text: &str, origin: String) -> Value {
    marked(
        text,
        Mark {
            origin: Some(origin),
            ..Mark::default()
        },
    )
}

fn marked(text: &str, mark: Mark) -> Value {
    MARKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.depth == 0 {
            return Value::from(text);
        }
        // A safe string always owns its text (no inline small-string form), so its address
        // identifies this value and its clones; dr never autoescapes, so the flag is unused.
        let v = Value::from_safe_string(text.to_owned());
        if let Some(s) = v.as_str() {
            m.marks.insert(s.as_ptr() as usize, mark);
        }
        m.held.push(v.clone());
        v
    })
}

/// What `f` says of the mark on `v` (`None`: `v` carries none).
fn with_mark<T>(v: &Value, f: impl FnOnce(&Mark) -> T) -> Option<T> {
    if !v.is_safe() {
        return None;
    }
    let at = v.as_str()?.as_ptr() as usize;
    MARKS.with(|m| m.borrow().marks.get(&at).map(f))
}

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "ansible._protomatter.finalize", finalize);
    env.add_test("ansible._protomatter.tagged_with", tagged_with);
    super::strict::add(env, "ansible._protomatter.origin", origin);
}

/// Ansible's `origin` filter, for the values whose origin dr knows (an `env` lookup's).
fn origin(value: Value) -> Result<Value, Error> {
    match with_mark(&value, |m| m.origin.clone()).flatten() {
        Some(origin) => Ok(Value::from(origin)),
        None => Err(Error::new(
            ErrorKind::InvalidOperation,
            "dr keeps no `Origin` tag on this value (`ansible._protomatter.origin` knows the origin of an `env` lookup's value only)",
        )),
    }
}

fn finalize(value: Value) -> Result<Value, Error> {
    let data = super::json_of(&value)?;
    Ok(Value::from(minijinja::value::Serde(&data)))
}

fn tagged_with(value: Value, tag: String) -> Result<bool, Error> {
    if !TAGS.contains(&tag.as_str()) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "Unknown tag name {}.",
                crate::template::pyrepr::repr_str(&tag)
            ),
        ));
    }
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "undefined value passed to a test",
        ));
    }
    if tag == "TrustedAsTemplate" {
        return Ok(
            value.kind() == ValueKind::String && with_mark(&value, |m| m.trusted) == Some(true)
        );
    }
    if tag == "VaultedValue" {
        return match vaulted(&value) {
            Some(true) => Ok(true),
            None => Ok(false),
            Some(false) => Err(super::vault_encrypted::not_known()),
        };
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "dr keeps no `{tag}` tag on values: whether this {} has it is not known (`ansible._protomatter.tagged_with` answers `TrustedAsTemplate` and `VaultedValue` only)",
            if value.kind() == ValueKind::String {
                "string"
            } else {
                "value"
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::template::Templater;
    use serde_json::json;

    #[test]
    fn tagged_with_trusts_only_a_variables_own_string() {
        let mut vars = json!({"l": ["x"], "d": {"k": "v"}, "s": "text", "t": "{{ s }}"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        vars.insert("r".into(), json!("raw text"));
        let s = Templater::new().scope_with_raw(vars, ["r".to_owned()].into_iter().collect());
        let is = |expr: &str| {
            s.render_value(&json!(format!(
                "{{{{ ({expr}) is ansible._protomatter.tagged_with('TrustedAsTemplate') }}}}"
            )))
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
        };
        // `t` is `{{ s }}`: a template that is one expression gives that value itself,
        // as Ansible's does (its tags with it).
        for expr in ["s", "t", "d.k", "l[0]", "d['k']", "s | default('x')"] {
            assert_eq!(is(expr), json!(true), "{expr}");
        }
        for expr in ["r", "s | upper", "s ~ ''", "'text'", "l", "d", "1", "none"] {
            assert_eq!(is(expr), json!(false), "{expr}");
        }
        // Outside a render that asks, strings are plain (nothing is marked).
        assert_eq!(s.render_value(&json!("{{ s }}")).unwrap(), json!("text"));
        let err = s
            .render_value(&json!(
                "{{ s is ansible._protomatter.tagged_with('Origin') }}"
            ))
            .expect_err("an origin is not known")
            .to_string();
        assert!(err.contains("dr keeps no `Origin` tag on values"), "{err}");
        let err = s
            .render_value(&json!(
                "{{ l is ansible._protomatter.tagged_with('Nope') }}"
            ))
            .expect_err("unknown tag")
            .to_string();
        assert!(err.contains("Unknown tag name 'Nope'."), "{err}");
    }
}
