//! Turning rendered task arguments into a module's typed `*Spec`.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde_json::Value as Json;

/// The arguments do not fit the module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ArgsError {
    /// The module.
    pub module: &'static str,
    /// What is wrong (serde's message names the key).
    pub detail: String,
}

/// How Ansible words a required argument that is missing.
const MISSING: &str = "missing required arguments: ";

impl ArgsError {
    /// An error for `module` saying `detail`.
    pub fn new(module: &'static str, detail: impl Into<String>) -> Self {
        ArgsError {
            module,
            detail: detail.into(),
        }
    }

    /// A required argument is missing: Ansible's words, which playbooks test for.
    fn message(&self) -> String {
        if self.detail.starts_with(MISSING) {
            self.detail.clone()
        } else {
            format!(
                "invalid arguments for module `{}`: {}",
                self.module, self.detail
            )
        }
    }
}

/// serde's `missing field `x`` in Ansible's words.
fn ansible_words(detail: String) -> String {
    match detail
        .strip_prefix("missing field `")
        .and_then(|r| r.split_once('`'))
    {
        Some((field, "")) => format!("{MISSING}{field}"),
        _ => detail,
    }
}

/// Deserialises `args` (a mapping; `null` counts as empty) into the module's spec. Bytes
/// values (`!!binary`) inside are their text, as Ansible's `str` options convert bytes;
/// one that is not UTF-8 is refused, naming the argument.
pub fn parse_args<T: DeserializeOwned>(module: &'static str, args: &Json) -> Result<T, ArgsError> {
    parse_data_args(module, &*text_args(module, args)?)
}

/// `args` with their bytes values (`!!binary`) as text, for a module that reads its
/// arguments itself (a free-form command line); refused when one is not UTF-8.
pub fn text_args<'a>(
    module: &'static str,
    args: &'a Json,
) -> Result<std::borrow::Cow<'a, Json>, ArgsError> {
    crate::pybytes::args_as_text(args).map_err(|e| ArgsError::new(module, e.to_string()))
}

/// [`parse_args`] for a module whose arguments are data it hands on (argument specs'
/// values): bytes values stay bytes.
pub fn parse_data_args<T: DeserializeOwned>(
    module: &'static str,
    args: &Json,
) -> Result<T, ArgsError> {
    let value = match args {
        Json::Null => Json::Object(serde_json::Map::new()),
        Json::Object(_) => args.clone(),
        Json::String(_) => {
            return Err(ArgsError::new(
                module,
                "expected a mapping of arguments, found a string",
            ));
        }
        other => {
            return Err(ArgsError::new(
                module,
                format!("expected a mapping of arguments, found `{other}`"),
            ));
        }
    };
    serde_json::from_value(value).map_err(|e| ArgsError::new(module, ansible_words(e.to_string())))
}

/// Ansible's `type='str'` (and `path`): a scalar, as Python's `str()` writes it.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Json::deserialize(d)? {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s)),
        Json::Bool(b) => Ok(Some(if b { "True" } else { "False" }.to_owned())),
        Json::Number(n) if n.is_f64() => Ok(Some(crate::template::pyrepr::float_repr(
            n.as_f64().unwrap_or_default(),
        ))),
        v @ Json::Number(_) => Ok(Some(v.to_string())),
        // As Ansible's `check_type_str` converts it: `str()` of the list or mapping.
        v => Ok(Some(crate::template::pyrepr::repr_json(&v))),
    }
}

/// [`opt_text`] for a required argument.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d)?.ok_or_else(|| de::Error::custom("expected a string, found `null`"))
}

/// Ansible's `type='int'`: a whole number, or a string holding one (`"5"`).
pub fn opt_int<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    let v = Json::deserialize(d)?;
    let bad = || de::Error::custom(format!("`{v}` cannot be converted to an int"));
    match &v {
        Json::Null => Ok(None),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => T::try_from(i).ok(),
            (None, Some(u)) => T::try_from(u).ok(),
            _ => None,
        }
        .map(Some)
        .ok_or_else(bad),
        Json::String(s) => s.trim().parse().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Ansible's `type='list', elements='str'`: a list, or a string split at its commas (as
/// written: Ansible trims nothing); scalars are read as their text.
pub fn opt_str_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let text = |v: Json| match v {
        Json::String(s) => Ok(s),
        Json::Bool(b) => Ok(if b { "True" } else { "False" }.to_owned()),
        v @ Json::Number(_) => Ok(v.to_string()),
        v => Err(de::Error::custom(format!("expected a string, found `{v}`"))),
    };
    match Json::deserialize(d)? {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s.split(',').map(str::to_owned).collect())),
        Json::Array(items) => items
            .into_iter()
            .map(text)
            .collect::<Result<_, _>>()
            .map(Some),
        v @ (Json::Number(_) | Json::Bool(_)) => Ok(Some(vec![text(v)?])),
        v => Err(de::Error::custom(format!("expected a list, found `{v}`"))),
    }
}

/// Ansible's booleans: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case.
pub fn bool_ish<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Json::deserialize(d)?;
    json_bool(&v).ok_or_else(|| de::Error::custom(format!("expected a boolean, found `{v}`")))
}

/// [`bool_ish`] for optional fields.
pub fn opt_bool_ish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Json::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    json_bool(&v)
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("expected a boolean, found `{v}`")))
}

/// A JSON value read as an Ansible boolean.
pub fn json_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        // Ansible's BOOLEANS_TRUE / BOOLEANS_FALSE: 1 and 1.0, 0 and 0.0.
        Json::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" | "t" => Some(true),
            "no" | "false" | "off" | "0" | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Splits a command line as a POSIX shell would (quotes and backslashes), without
/// expanding anything.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated single quote in `{s}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err(format!("unterminated double quote in `{s}`")),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated double quote in `{s}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(ch) => cur.push(ch),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `#[serde(default = "...")]` for a flag that is on unless given.
pub fn yes() -> bool {
    true
}

/// A required `name` given as text (a number is read as its text, as Ansible's `str`).
pub fn required_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d)?.ok_or_else(|| serde::de::Error::custom("`name` must be a string"))
}

/// `state: present|absent` (default `present`) as Ansible's choices check reads it:
/// whether the state is `present`, or the message naming the value.
pub fn present(state: Option<&str>) -> Result<bool, String> {
    match state.unwrap_or("present") {
        "present" => Ok(true),
        "absent" => Ok(false),
        s => Err(format!(
            "value of state must be one of: absent, present, got: {s}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_str_argument_takes_any_value_as_python_s_str_writes_it() {
        #[derive(Deserialize)]
        struct S {
            #[serde(deserialize_with = "text")]
            path: String,
        }
        let of = |v: Json| -> String {
            serde_json::from_value::<S>(serde_json::json!({"path": v}))
                .map(|s| s.path)
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(of(serde_json::json!("/a")), "/a");
        assert_eq!(of(serde_json::json!(true)), "True");
        assert_eq!(of(serde_json::json!(1.5)), "1.5");
        assert_eq!(
            of(serde_json::json!({"path": "/tmp/x", "isdir": false})),
            "{'path': '/tmp/x', 'isdir': False}"
        );
        assert_eq!(of(serde_json::json!(["a", 1])), "['a', 1]");
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            shell_split(r#"echo 'a b' "c \"d\"" e\ f"#).unwrap(),
            vec!["echo", "a b", "c \"d\"", "e f"]
        );
        assert!(shell_split("echo 'oops").is_err());
    }

    #[test]
    fn ansible_booleans() {
        assert_eq!(json_bool(&Json::from("Yes")), Some(true));
        assert_eq!(json_bool(&Json::from("off")), Some(false));
        assert_eq!(json_bool(&Json::from(1)), Some(true));
        assert_eq!(json_bool(&Json::from("maybe")), None);
        assert_eq!(json_bool(&Json::from("T")), Some(true));
        assert_eq!(json_bool(&Json::from(0.0)), Some(false));
        assert_eq!(json_bool(&Json::from(2)), None);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Spec {
        #[serde(default, deserialize_with = "bool_ish")]
        force: bool,
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_name() {
        let err = parse_args::<Spec>("copy", &serde_json::json!({"forse": true})).unwrap_err();
        assert!(err.to_string().contains("unknown field `forse`"), "{err}");
        let ok: Spec = parse_args("copy", &serde_json::json!({"force": "yes"})).unwrap();
        assert!(ok.force);
    }
}
