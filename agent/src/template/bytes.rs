//! Bytes values (YAML `!!binary`, see [`crate::pybytes`]) between dr's JSON data and
//! template values: the JSON string that stands for bytes is a [`PyBytes`] in a template,
//! and a bytes value in a result is that string again.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind};
use serde_json::{Map, Value as Json};

use crate::pybytes;

/// A Python `bytes` in a template. minijinja's own bytes print lossily (`\u{fffd}` for
/// what is not UTF-8); this one behaves as Python's: a sequence of numbers (`b[0]`,
/// `length`, `list`, `first`) whose `str()` is its `repr()` (`b ~ 'x'` is `b'hel\xff'x`,
/// `upper` is `B'HEL\XFF'`), false when empty.
#[derive(Debug)]
pub(crate) struct PyBytes(pub(crate) Vec<u8>);

impl Object for PyBytes {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = key.as_i64()?;
        let i = if i < 0 { i + self.0.len() as i64 } else { i };
        usize::try_from(i)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|b| Value::from(*b))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        ENUMERATED.set(true);
        Enumerator::Seq(self.0.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&pybytes::repr(&self.0))
    }
}

/// The bytes of a template value, when it is bytes.
pub(crate) fn of(value: &Value) -> Option<&[u8]> {
    if value.kind() == ValueKind::Bytes {
        return value.as_bytes();
    }
    value
        .downcast_object_ref::<PyBytes>()
        .map(|b| b.0.as_slice())
}

/// The template value of `bytes`.
pub(crate) fn value(bytes: Vec<u8>) -> Value {
    Value::from_object(PyBytes(bytes))
}

/// The template value of JSON data `v`, its bytes values as bytes.
pub(crate) fn to_value(v: &Json) -> Value {
    if !pybytes::holds(v) {
        return Value::from(minijinja::value::Serde(v));
    }
    match v {
        Json::String(s) => match pybytes::decode(s) {
            Some(bytes) => value(bytes),
            None => Value::from(s.as_str()),
        },
        Json::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(map) => Value::from_iter(map.iter().map(|(k, v)| (k.as_str(), to_value(v)))),
        other => Value::from(minijinja::value::Serde(other)),
    }
}

thread_local! {
    /// Set when a bytes value is enumerated, as serde does to write it (as its numbers).
    static ENUMERATED: Cell<bool> = const { Cell::new(false) };
}

/// `serde_json::to_value(value)`, or `None` when a bytes value was met inside (serde
/// writes one as its numbers). Values without bytes pay nothing more than serde.
pub(crate) fn serialize(value: &Value) -> Option<Result<Json, serde_json::Error>> {
    if of(value).is_some() {
        return None;
    }
    let outer = ENUMERATED.replace(false);
    let out = serde_json::to_value(value);
    let met = ENUMERATED.replace(outer);
    (!met).then_some(out)
}

/// JSON data of a rendered `value`: each bytes value inside as the string that stands for
/// it, the rest as serde writes it.
pub(super) fn to_json(value: &Value) -> Result<Json, serde_json::Error> {
    match serialize(value) {
        Some(out) => out,
        None => walk(value),
    }
}

/// [`to_json`] of a value that holds bytes.
fn walk(value: &Value) -> Result<Json, serde_json::Error> {
    if let Some(bytes) = of(value) {
        return Ok(Json::String(pybytes::encode(bytes)));
    }
    match value.kind() {
        ValueKind::Seq => value
            .try_iter()
            .map_err(serde::ser::Error::custom)?
            .map(|item| walk(&item))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        ValueKind::Map => {
            let mut out = Map::new();
            for k in value.try_iter().map_err(serde::ser::Error::custom)? {
                let v = value.get_item(&k).unwrap_or(Value::UNDEFINED);
                let key = match k.as_str() {
                    Some(s) => s.to_owned(),
                    None => super::pyrepr::python_str(&k),
                };
                out.insert(key, walk(&v)?);
            }
            Ok(Json::Object(out))
        }
        _ => serde_json::to_value(value),
    }
}

/// The text a bytes value prints as inside a string: its text when it is UTF-8, as in
/// Ansible; otherwise an error, since Ansible's result there (a string of escaped bytes)
/// is not text dr can hold.
pub(super) fn printed(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "bytes that are not UTF-8 text (a `!!binary` value) cannot be printed into a \
             string",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::pybytes::encode;
    use crate::template::Templater;

    fn scope() -> crate::template::Scope {
        let vars = json!({"mixed": encode(b"hel\xff\xfflo"), "word": encode(b"hello")});
        Templater::new().scope(vars.as_object().unwrap().clone())
    }

    #[test]
    fn templates_see_bytes_as_ansible_does() {
        // Checked against ansible-playbook 2.19.
        let s = scope();
        let render = |t: &str| s.render_string(t).map_err(|e| e.to_string());
        assert_eq!(
            render(
                "{{ mixed | type_debug }} {{ mixed | length }} {{ mixed[0] }} {{ mixed | list }}"
            )
            .unwrap(),
            "bytes 7 104 [104, 101, 108, 255, 255, 108, 111]"
        );
        assert_eq!(
            render("{{ mixed | b64encode }} {{ mixed | hash('sha1') }} {{ mixed | string }}")
                .unwrap(),
            r"aGVs//9sbw== 685cad5c30626fd4986aa5d0d7edde317623380c b'hel\xff\xfflo'"
        );
        assert_eq!(
            render(
                "{{ word ~ '!' }} {{ word | upper }} {{ [word] }} x{{ word }} {{ word == 'hello' }}"
            )
            .unwrap(),
            "b'hello'! B'HELLO' [b'hello'] xhello False"
        );
        assert_eq!(
            render("{{ mixed is string }} {{ mixed is sequence }} {{ mixed == mixed }}").unwrap(),
            "False True True"
        );
    }

    #[test]
    fn bytes_survive_rendering_and_what_cannot_take_them_says_so() {
        let s = scope();
        // `set_fact: {kept: "{{ mixed }}"}` keeps the bytes.
        assert_eq!(
            s.render_value(&json!({"kept": "{{ mixed }}", "in": ["{{ word }}"]}))
                .unwrap(),
            json!({"kept": encode(b"hel\xff\xfflo"), "in": [encode(b"hello")]})
        );
        // Met while serde writes a lazily rendered mapping, too.
        assert_eq!(
            s.eval("vars").unwrap()["mixed"],
            json!(encode(b"hel\xff\xfflo"))
        );
        let fails = |t: &str| s.render_string(t).unwrap_err().to_string();
        assert!(
            fails("x{{ mixed }}").contains("not UTF-8"),
            "{}",
            fails("x{{ mixed }}")
        );
        // Ansible's own filters decode bytes as UTF-8 text first; text that is not UTF-8
        // they refuse.
        assert_eq!(
            s.render_string("{{ word | regex_replace('l', 'L') }}")
                .unwrap(),
            "heLLo"
        );
        for t in [
            "{{ mixed | regex_replace('l', 'L') }}",
            "{{ mixed | join }}",
        ] {
            assert!(fails(t).contains("does not take bytes"), "{}", fails(t));
        }
        assert!(fails("{{ mixed | to_json }}").contains("not JSON serializable"));
        assert!(fails("{{ mixed | to_nice_yaml }}").contains("to_yaml: bytes"));
    }
}
