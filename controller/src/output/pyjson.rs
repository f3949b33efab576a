//! JSON as Python's `json.dumps(value, sort_keys=True, ensure_ascii=False)` writes it, which is
//! how Ansible's callbacks show a result: `{"a": 1, "b": [1, 2]}`, or with `indent=4` one
//! member per line. Also `str()` of a value, as Ansible shows a loop item.

use dr_agent::template::pyrepr::repr_str;
use serde_json::Value;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent)`.
pub fn dumps(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write(value, indent, 0, &mut out);
    out
}

fn write(value: &Value, indent: Option<usize>, depth: usize, out: &mut String) {
    let (open, close, members): (char, char, Vec<(Option<&str>, &Value)>) = match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            (
                '{',
                '}',
                keys.into_iter()
                    .map(|k| (Some(k.as_str()), &m[k]))
                    .collect(),
            )
        }
        Value::Array(a) => ('[', ']', a.iter().map(|v| (None, v)).collect()),
        scalar => {
            out.push_str(&serde_json::to_string(scalar).unwrap_or_default());
            return;
        }
    };
    out.push(open);
    if members.is_empty() {
        out.push(close);
        return;
    }
    for (i, (key, member)) in members.into_iter().enumerate() {
        match indent {
            Some(n) => {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                out.push_str(&" ".repeat(n * (depth + 1)));
            }
            None if i > 0 => out.push_str(", "),
            None => {}
        }
        if let Some(key) = key {
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push_str(": ");
        }
        write(member, indent, depth + 1, out);
    }
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * depth));
    }
    out.push(close);
}

/// Python's `str()` of the value: strings as they are, containers as their `repr()`
/// (`{'b': 1}`, `['a', 'b']`), `True`, `False`, `None`.
pub fn py_str(value: &Value) -> String {
    match value {
        // Python's `str()` of bytes (`!!binary`) is their `repr()`.
        Value::String(s) if let Some(bytes) = dr_agent::pybytes::decode(s) => {
            dr_agent::pybytes::repr(&bytes)
        }
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if let Some(bytes) = dr_agent::pybytes::decode(s) => {
            dr_agent::pybytes::repr(&bytes)
        }
        Value::String(s) => repr_str(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_as_python_does() {
        let v = json!({"rc": 0, "cmd": ["echo", "hi"], "changed": true, "e": {}, "é": "ü"});
        assert_eq!(
            dumps(&v, None),
            r#"{"changed": true, "cmd": ["echo", "hi"], "e": {}, "rc": 0, "é": "ü"}"#
        );
        assert_eq!(
            dumps(&json!({"foo": [1, 2], "msg": "x"}), Some(4)),
            "{\n    \"foo\": [\n        1,\n        2\n    ],\n    \"msg\": \"x\"\n}"
        );
    }

    #[test]
    fn str_of_an_item_is_pythons() {
        assert_eq!(py_str(&json!("a")), "a");
        assert_eq!(
            py_str(&json!({"b": 1, "c": "it's"})),
            r#"{'b': 1, 'c': "it's"}"#
        );
        assert_eq!(py_str(&json!([true, null, 1.5])), "[True, None, 1.5]");
        // Bytes (`!!binary`), as ansible-playbook labels an item.
        let bytes = dr_agent::pybytes::encode(b"hel\xff");
        assert_eq!(py_str(&json!(bytes)), r"b'hel\xff'");
        assert_eq!(py_str(&json!([bytes])), r"[b'hel\xff']");
    }
}
