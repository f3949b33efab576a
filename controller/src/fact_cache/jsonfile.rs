//! The text of a host's file in Ansible's `jsonfile` fact cache, as ansible-core 2.19
//! writes it: the facts serialized by its cache profile (values may carry tags, written
//! as `{"value": ..., "tags": [...], "__ansible_type": "_AnsibleTaggedStr"}`), that text
//! stored as the string `__payload__` of a one-key object, both as Python's
//! `json.dumps` writes them (`", "` and `": "` separators, non-ASCII escaped).

use dr_agent::template::pyjson::{Style, dumps};
use serde_json::{Map, Value};

/// The key holding the serialized facts.
const PAYLOAD_KEY: &str = "__payload__";

/// The key naming the type of a serialized Ansible value.
const TYPE_KEY: &str = "__ansible_type";

/// Why a cache file's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The file is not JSON.
    #[error("it is not JSON ({0})")]
    NotJson(String),
    /// The payload string is not the JSON of a mapping of facts.
    #[error("its `__payload__` is not a JSON mapping of facts")]
    BadPayload,
    /// A value of an Ansible type dr has no equivalent for (a vaulted value).
    #[error("it holds a value of type `{0}` that dr cannot read")]
    UnknownType(String),
}

/// The file's text for `facts`.
pub fn encode(facts: &Map<String, Value>) -> String {
    // Python's `json.dumps(value)`: one line, keys in their order, `ensure_ascii`.
    let style = Style {
        indent: None,
        sort_keys: false,
    };
    let inner = dumps(&Value::Object(facts.clone()), style);
    let mut wrapper = Map::new();
    wrapper.insert(PAYLOAD_KEY.into(), Value::String(inner));
    dumps(&Value::Object(wrapper), style)
}

/// The facts in a file's text; `Ok(None)` when it holds no payload (Ansible reads that
/// as no facts).
pub fn decode(text: &str) -> Result<Option<Map<String, Value>>, DecodeError> {
    let outer: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let Value::Object(outer) = outer else {
        return Err(DecodeError::BadPayload);
    };
    let Some(payload) = outer.get(PAYLOAD_KEY) else {
        return Ok(None);
    };
    let Value::String(payload) = payload else {
        return Err(DecodeError::BadPayload);
    };
    let inner: Value = serde_json::from_str(payload).map_err(|_| DecodeError::BadPayload)?;
    match untag(inner)? {
        Value::Object(facts) => Ok(Some(facts)),
        _ => Err(DecodeError::BadPayload),
    }
}

/// A value without Ansible's tags (origins, trust): tagged scalars, lists and mappings
/// become the plain values they wrap.
fn untag(value: Value) -> Result<Value, DecodeError> {
    Ok(match value {
        Value::Object(mut map) => match map.remove(TYPE_KEY) {
            Some(kind) => match map.remove("value") {
                Some(inner) => untag(inner)?,
                None => {
                    let kind = kind
                        .as_str()
                        .map_or_else(|| kind.to_string(), str::to_owned);
                    return Err(DecodeError::UnknownType(kind));
                }
            },
            None => Value::Object(
                map.into_iter()
                    .map(|(k, v)| untag(v).map(|v| (k, v)))
                    .collect::<Result<_, _>>()?,
            ),
        },
        Value::Array(items) => {
            Value::Array(items.into_iter().map(untag).collect::<Result<_, _>>()?)
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_as_python_writes_it() {
        let facts = json!({"x": 1, "f": 1.5, "s": "é\n\"", "l": [true, null], "m": {}});
        let Value::Object(facts) = facts else {
            unreachable!()
        };
        assert_eq!(
            encode(&facts),
            r#"{"__payload__": "{\"x\": 1, \"f\": 1.5, \"s\": \"\\u00e9\\n\\\"\", \"l\": [true, null], \"m\": {}}"}"#
        );
    }

    #[test]
    fn reads_what_ansible_writes() {
        let text = r#"{"__payload__": "{\"x\": {\"value\": 1, \"tags\": [{\"path\": \"/tmp/fc_pb.yml\", \"line_num\": 5, \"col_num\": 12, \"__ansible_type\": \"Origin\"}], \"__ansible_type\": \"_AnsibleTaggedInt\"}, \"l\": {\"value\": [{\"value\": \"a\", \"tags\": [], \"__ansible_type\": \"_AnsibleTaggedStr\"}], \"tags\": [], \"__ansible_type\": \"_AnsibleTaggedList\"}}"}"#;
        assert_eq!(
            decode(text).unwrap(),
            Some(json!({"x": 1, "l": ["a"]}).as_object().unwrap().clone())
        );
    }

    #[test]
    fn round_trips() {
        let facts = json!({"a": "ü😀", "n": [1, 2.25, -3e20], "nested": {"k": "v"}});
        let Value::Object(facts) = facts else {
            unreachable!()
        };
        assert_eq!(decode(&encode(&facts)).unwrap(), Some(facts));
    }

    #[test]
    fn unreadable_text_is_an_error() {
        assert!(matches!(decode("{"), Err(DecodeError::NotJson(_))));
        assert_eq!(decode("{}"), Ok(None));
        assert_eq!(
            decode(r#"{"__payload__": "[1]"}"#),
            Err(DecodeError::BadPayload)
        );
        assert_eq!(
            decode(
                r#"{"__payload__": "{\"v\": {\"__ansible_type\": \"EncryptedString\", \"ciphertext\": \"x\"}}"}"#
            ),
            Err(DecodeError::UnknownType("EncryptedString".into()))
        );
    }

    #[test]
    fn floats_as_python_repr() {
        let n = |v: f64| encode(&serde_json::from_value(serde_json::json!({"f": v})).unwrap());
        assert!(n(1.0).contains(r#"\"f\": 1.0}"#), "{}", n(1.0));
        assert!(n(1e16).contains(r#"\"f\": 1e+16}"#), "{}", n(1e16));
        assert!(n(2.5e-7).contains(r#"\"f\": 2.5e-07}"#), "{}", n(2.5e-7));
    }
}
