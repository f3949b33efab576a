//! Filters and tests of Ansible's internal `ansible._protomatter` collection that have a
//! meaning for dr's values. `finalize` turns what a template produced into plain data (a
//! group of `groupby` into a list, ...), as Ansible finalizes a template's result: dr's
//! values are plain data already, except such objects. `tagged_with` answers only what
//! dr can know without Ansible's tags on values: a value that is not a string is never
//! `TrustedAsTemplate` (Ansible trusts strings only); any other question fails saying so.

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

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "ansible._protomatter.finalize", finalize);
    env.add_test("ansible._protomatter.tagged_with", tagged_with);
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
    if tag == "TrustedAsTemplate" && value.kind() != ValueKind::String {
        return Ok(false);
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "dr keeps no tags on values: whether this {} is tagged `{tag}` is not known (`ansible._protomatter.tagged_with` answers only whether a value that is not a string is `TrustedAsTemplate`: it never is)",
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
    fn tagged_with_answers_only_what_dr_knows() {
        let s = Templater::new().scope(
            json!({"l": ["unsafe"], "d": {"k": "v"}, "s": "text"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let is = |expr: &str| s.render_value(&json!(format!("{{{{ {expr} }}}}")));
        for v in ["l", "d", "1", "none"] {
            assert_eq!(
                is(&format!(
                    "{v} is ansible._protomatter.tagged_with('TrustedAsTemplate')"
                ))
                .unwrap_or_else(|e| panic!("{v}: {e}")),
                json!(false),
                "{v}"
            );
        }
        let err = is("s is ansible._protomatter.tagged_with('TrustedAsTemplate')")
            .expect_err("a string's trust is not known")
            .to_string();
        assert!(err.contains("dr keeps no tags on values"), "{err}");
        let err = is("l is ansible._protomatter.tagged_with('Nope')")
            .expect_err("unknown tag")
            .to_string();
        assert!(err.contains("Unknown tag name 'Nope'."), "{err}");
    }
}
