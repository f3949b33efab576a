//! Ansible's filters and tests that minijinja lacks (or has with other semantics).

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

/// Adds the Ansible filters and tests to `env`.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("mandatory", mandatory);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("combine", combine);
    env.add_filter("bool", ansible_bool);
    env.add_filter("int", ansible_int);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("quote", quote);
    env.add_test("succeeded", |v: Value| !flag(&v, "failed"));
    env.add_test("success", |v: Value| !flag(&v, "failed"));
    env.add_test("failed", |v: Value| flag(&v, "failed"));
    env.add_test("failure", |v: Value| flag(&v, "failed"));
    env.add_test("changed", |v: Value| flag(&v, "changed"));
    env.add_test("skipped", |v: Value| flag(&v, "skipped"));
    // Ansible's `contains` test: `list is contains(x)` (the container first, unlike `in`).
    env.add_test("contains", contains);
}

/// `container is contains(item)`: a substring, a list item or a mapping key.
fn contains(container: Value, item: Value) -> bool {
    if let Some(s) = container.as_str() {
        return s.contains(
            item.as_str()
                .map_or_else(|| item.to_string(), str::to_owned)
                .as_str(),
        );
    }
    if container.kind() == minijinja::value::ValueKind::Map {
        return container.get_item(&item).is_ok_and(|v| !v.is_undefined());
    }
    container
        .try_iter()
        .is_ok_and(|mut items| items.any(|v| v == item))
}

fn flag(v: &Value, key: &str) -> bool {
    v.get_attr(key).map(|f| f.is_true()).unwrap_or(false)
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn json_of(v: &Value) -> Result<Json, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "undefined value passed to a filter",
        ));
    }
    serde_json::to_value(v).map_err(|e| invalid(format!("cannot convert value to data: {e}")))
}

fn string_of(v: &Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "undefined value passed to a filter",
        ));
    }
    Ok(match v.as_str() {
        Some(s) => s.to_owned(),
        None => v.to_string(),
    })
}

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable is not defined".to_owned()),
        ));
    }
    Ok(v)
}

fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let style = super::pyjson::Style {
        indent,
        sort_keys: sort_keys.unwrap_or(false),
    };
    Ok(super::pyjson::dumps(&json_of(&v)?, style))
}

fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let style = super::pyjson::Style {
        indent: Some(indent.unwrap_or(4)),
        sort_keys: sort_keys.unwrap_or(true),
    };
    Ok(super::pyjson::dumps(&json_of(&v)?, style))
}

fn from_json(v: Value) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let json: Json =
        serde_json::from_str(&s).map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(Value::from(minijinja::value::Serde(&json)))
}

fn to_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    Ok(super::yaml::emit(&json_of(&v)?, indent.unwrap_or(2), true))
}

fn to_nice_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    Ok(super::yaml::emit(&json_of(&v)?, indent.unwrap_or(4), false))
}

fn build_regex(pattern: &str, kwargs: &Kwargs) -> Result<regex::Regex, Error> {
    let ignorecase: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase.unwrap_or(false))
        .multi_line(multiline.unwrap_or(false))
        .build()
        .map_err(|e| invalid(format!("invalid regular expression `{pattern}`: {e}")))
}

/// Converts a Python replacement string (`\1`, `\g<name>`) to the regex crate's syntax.
pub fn python_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                        if num.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn regex_replace(
    v: Value,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let s = string_of(&v)?;
    let re = build_regex(&pattern, &kwargs)?;
    let repl = python_replacement(&replacement.unwrap_or_default());
    Ok(re.replace_all(&s, repl.as_str()).into_owned())
}

fn regex_search(
    v: Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let re = build_regex(&pattern, &kwargs)?;
    let Some(caps) = re.captures(&s) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let g = g.trim_start_matches('\\');
        let m = if let Some(name) = g.strip_prefix("g<").and_then(|n| n.strip_suffix('>')) {
            caps.name(name)
        } else {
            g.parse::<usize>().ok().and_then(|i| caps.get(i))
        };
        out.push(Value::from(m.map_or("", |m| m.as_str())));
    }
    Ok(Value::from(out))
}

fn regex_findall(v: Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let re = build_regex(&pattern, &kwargs)?;
    let groups = re.captures_len() - 1;
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|caps| match groups {
            0 => Value::from(caps.get(0).map_or("", |m| m.as_str())),
            1 => Value::from(caps.get(1).map_or("", |m| m.as_str())),
            n => Value::from(
                (1..=n)
                    .map(|i| Value::from(caps.get(i).map_or("", |m| m.as_str())))
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    Ok(Value::from(out))
}

fn b64encode(v: Value) -> Result<String, Error> {
    Ok(base64::engine::general_purpose::STANDARD.encode(string_of(&v)?))
}

fn b64decode(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| invalid(format!("b64decode: invalid base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded data is not UTF-8"))
}

fn basename(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    Ok(s.rsplit('/').next().unwrap_or("").to_owned())
}

fn dirname(v: Value) -> Result<String, Error> {
    let s = string_of(&v)?;
    // Python's os.path.dirname: everything before the last slash, trailing slashes
    // stripped unless the head is only slashes.
    match s.rfind('/') {
        None => Ok(String::new()),
        Some(i) => {
            let head = &s[..=i];
            let trimmed = head.trim_end_matches('/');
            Ok(if trimmed.is_empty() {
                head.to_owned()
            } else {
                trimmed.to_owned()
            })
        }
    }
}

fn merge(base: &mut Json, other: &Json, recursive: bool, list_merge: &str) {
    match (base, other) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if recursive && existing.is_object() && v.is_object() => {
                        merge(existing, v, recursive, list_merge)
                    }
                    Some(Json::Array(existing)) if list_merge == "append" && v.is_array() => {
                        if let Json::Array(items) = v {
                            existing.extend(items.iter().cloned());
                        }
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn combine(base: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive: Option<bool> = kwargs.get("recursive")?;
    let list_merge: Option<String> = kwargs.get("list_merge")?;
    let list_merge = list_merge.unwrap_or_else(|| "replace".to_owned());
    let mut out = json_of(&base)?;
    if !out.is_object() {
        return Err(invalid("combine: expects mappings"));
    }
    for other in others.iter() {
        let o = json_of(other)?;
        let list = match o {
            Json::Array(items) => items,
            single => vec![single],
        };
        for o in list {
            if !o.is_object() {
                return Err(invalid("combine: expects mappings"));
            }
            merge(&mut out, &o, recursive.unwrap_or(false), &list_merge);
        }
    }
    Ok(Value::from(minijinja::value::Serde(&out)))
}

/// Ansible's `bool`: `yes`/`on`/`1`/`true` (any case) are true, everything else false.
fn ansible_bool(v: Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => v.as_i64().is_some_and(|n| n == 1),
        ValueKind::String => matches!(
            v.as_str()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "yes" | "on" | "1" | "true" | "y"
        ),
        _ => false,
    }
}

/// Ansible's `int`: numbers truncate, numeric strings parse (with `base`), anything else
/// is `default` (0).
fn ansible_int(v: Value, default: Option<i64>, kwargs: Kwargs) -> Result<i64, Error> {
    let base: Option<u32> = kwargs.get("base")?;
    let default = default.unwrap_or(0);
    Ok(match v.kind() {
        ValueKind::Bool => i64::from(v.is_true()),
        ValueKind::Number => v
            .as_i64()
            .unwrap_or_else(|| f64::try_from(v.clone()).map_or(default, |f| f.trunc() as i64)),
        ValueKind::String => {
            let s = v.as_str().unwrap_or("").trim();
            let base = base.unwrap_or(10);
            let digits = match base {
                16 => s.trim_start_matches("0x"),
                8 => s.trim_start_matches("0o"),
                2 => s.trim_start_matches("0b"),
                _ => s,
            };
            i64::from_str_radix(digits, base)
                .ok()
                .or_else(|| {
                    (base == 10)
                        .then(|| s.parse::<f64>().ok().map(|f| f.trunc() as i64))
                        .flatten()
                })
                .unwrap_or(default)
        }
        _ => default,
    })
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    let (kn, vn) = (
        key_name.unwrap_or_else(|| "key".to_owned()),
        value_name.unwrap_or_else(|| "value".to_owned()),
    );
    let Json::Object(map) = json_of(&v)? else {
        return Err(invalid("dict2items: expects a mapping"));
    };
    let items: Vec<Json> = map
        .into_iter()
        .map(|(k, v)| {
            let mut item = serde_json::Map::new();
            item.insert(kn.clone(), Json::String(k));
            item.insert(vn.clone(), v);
            Json::Object(item)
        })
        .collect();
    Ok(Value::from(minijinja::value::Serde(&items)))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    let (kn, vn) = (
        key_name.unwrap_or_else(|| "key".to_owned()),
        value_name.unwrap_or_else(|| "value".to_owned()),
    );
    let Json::Array(items) = json_of(&v)? else {
        return Err(invalid("items2dict: expects a list"));
    };
    let mut out = serde_json::Map::new();
    for item in items {
        let key = item
            .get(&kn)
            .ok_or_else(|| invalid(format!("items2dict: an item has no `{kn}`")))?;
        let key = match key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(key, item.get(&vn).cloned().unwrap_or(Json::Null));
    }
    Ok(Value::from(minijinja::value::Serde(&out)))
}

/// Quotes a word for a POSIX shell, as Python's `shlex.quote` does.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

fn quote(v: Value) -> Result<String, Error> {
    Ok(shell_quote(&string_of(&v)?))
}
