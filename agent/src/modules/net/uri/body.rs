//! `body` as `body_format` says to send it: as written (`raw`), JSON, a form
//! (`form-urlencoded`) or `multipart/form-data` ([`super::multipart`]).

use serde::Deserialize;
use serde_json::Value as Json;

/// `body_format`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum BodyFormat {
    #[default]
    Raw,
    Json,
    FormUrlencoded,
    FormMultipart,
}

/// A value as Python's `str()` shows it (for bodies, form fields).
pub(super) fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

/// The JSON text of `body` (a string is taken as JSON already), with Python's
/// `json.dumps` spacing.
pub(super) fn json(body: &Json) -> String {
    match body {
        Json::String(s) => s.clone(),
        other => python_json(other),
    }
}

fn python_json(v: &Json) -> String {
    match v {
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Json::from(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// `body` as `application/x-www-form-urlencoded`, as Ansible's `form_urlencoded`: a
/// string as it is; a mapping's or a list of pairs' values, a list value giving the key
/// once per element, `null`s left out. The error is Python's, for a list item that is
/// no pair.
pub(super) fn form_urlencoded(body: &Json) -> Result<String, String> {
    let pairs: Vec<(String, Json)> = match body {
        Json::String(s) => return Ok(s.clone()),
        Json::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Json::Array(items) => items.iter().map(unpack_pair).collect::<Result<_, _>>()?,
        other => return Ok(text(other)),
    };
    let mut out = Vec::new();
    for (key, values) in pairs {
        let values = match values {
            Json::Array(items) => items,
            // A mapping is iterated for its keys, as Python does.
            Json::Object(map) => map.keys().cloned().map(Json::from).collect(),
            other => vec![other],
        };
        for v in values.iter().filter(|v| !v.is_null()) {
            out.push(format!("{}={}", quote_plus(&key), quote_plus(&text(v))));
        }
    }
    Ok(out.join("&"))
}

/// `key, value = item`, as Python unpacks it.
fn unpack_pair(item: &Json) -> Result<(String, Json), String> {
    let parts: Vec<Json> = match item {
        Json::Array(items) => items.clone(),
        Json::String(s) => s.chars().map(|c| Json::from(c.to_string())).collect(),
        Json::Object(map) => map.keys().cloned().map(Json::from).collect(),
        other => {
            return Err(format!(
                "cannot unpack non-iterable {} object",
                super::multipart::python_type(other)
            ));
        }
    };
    match parts.as_slice() {
        [k, v] => Ok((text(k), v.clone())),
        p if p.len() > 2 => Err("too many values to unpack (expected 2)".into()),
        p => Err(format!(
            "not enough values to unpack (expected 2, got {})",
            p.len()
        )),
    }
}

/// Python's `urllib.parse.quote_plus`.
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn form_bodies_encode_as_pythons_urlencode() {
        let dict = json!({"user": "foo", "password": "bar!#@ |&82$M", "submit": "Sign in"});
        assert_eq!(
            form_urlencoded(&dict).as_deref(),
            Ok("user=foo&password=bar%21%23%40+%7C%2682%24M&submit=Sign+in")
        );
        let list = json!([["a", [1, null, true]], ["b", "x y"]]);
        assert_eq!(form_urlencoded(&list).as_deref(), Ok("a=1&a=True&b=x+y"));
        assert_eq!(
            form_urlencoded(&json!(["foo", {"bar": "baz"}])),
            Err("too many values to unpack (expected 2)".into())
        );
        assert_eq!(
            form_urlencoded(&json!([{"bar": "baz"}])),
            Err("not enough values to unpack (expected 2, got 1)".into())
        );
        assert_eq!(form_urlencoded(&json!("a=b")).as_deref(), Ok("a=b"));
    }

    #[test]
    fn json_bodies_use_pythons_spacing() {
        assert_eq!(json(&json!({"a": [1, "x"]})), "{\"a\": [1, \"x\"]}");
        assert_eq!(json(&json!("{\"raw\": 1}")), "{\"raw\": 1}");
    }
}
