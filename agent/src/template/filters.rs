//! Ansible's filters and tests that minijinja lacks (or has with other semantics).

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

mod checks;
mod data;
mod encoding;
mod hash;
mod items;
mod jinja;
mod math;
pub(crate) use math::python_int;
pub mod missing_attr;
pub mod names;
mod net;
mod path;
pub(super) mod protomatter;
mod query;
mod strict;
mod text;
pub mod vault;
pub(super) mod vault_encrypted;
mod version;
mod yaml_style;

pub(crate) use math::human_to_bytes_text;

/// Adds the Ansible filters and tests to `env`.
pub(super) fn register(env: &mut Environment<'static>) {
    strict::builtins(env);
    env.add_filter("mandatory", mandatory);
    strict::add(env, "to_json", to_json);
    strict::add(env, "to_nice_json", to_nice_json);
    strict::add(env, "from_json", from_json);
    strict::add(env, "to_yaml", to_yaml);
    strict::add(env, "to_nice_yaml", to_nice_yaml);
    strict::add(env, "regex_replace", regex_replace);
    strict::add(env, "regex_search", regex_search);
    strict::add(env, "regex_findall", regex_findall);
    strict::add(env, "basename", basename);
    strict::add(env, "dirname", dirname);
    strict::add(env, "combine", combine);
    strict::add(env, "quote", quote);
    env.add_test("succeeded", |v: Value| !flag(&v, "failed"));
    env.add_test("success", |v: Value| !flag(&v, "failed"));
    env.add_test("failed", |v: Value| flag(&v, "failed"));
    env.add_test("failure", |v: Value| flag(&v, "failed"));
    env.add_test("changed", |v: Value| flag(&v, "changed"));
    env.add_test("skipped", |v: Value| flag(&v, "skipped"));
    // Ansible's `contains` test: `list is contains(x)` (the container first, unlike `in`).
    env.add_test("contains", contains);
    data::register(env);
    math::register(env);
    text::register(env);
    path::register(env);
    hash::register(env);
    items::register(env);
    jinja::register(env);
    net::register(env);
    query::register(env);
    checks::register(env);
    vault_encrypted::register(env);
    vault::register(env);
    protomatter::register(env);
    names::add_qualified(env);
}

/// A positional argument, or the keyword argument of the same name when it was not given.
fn opt_arg<'a, T>(pos: Option<T>, kwargs: &'a Kwargs, name: &'a str) -> Result<Option<T>, Error>
where
    T: minijinja::value::ArgType<'a, Output = T>,
{
    match pos {
        Some(v) => Ok(Some(v)),
        None => kwargs.get::<Option<T>>(name),
    }
}

fn undefined_error() -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        "undefined value passed to a filter",
    )
}

/// `type(v)` as Python prints it: `<class 'bool'>`.
fn python_class(v: &Value) -> String {
    format!("<class '{}'>", type_name(v))
}

/// The Python type name of a value, as Ansible's `type_debug` reports it.
pub(super) fn type_name(v: &Value) -> &'static str {
    if super::bytes::of(v).is_some() {
        return "bytes";
    }
    match v.kind() {
        ValueKind::Seq if v.is_tuple() => "tuple",
        ValueKind::Undefined => "Undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// An attribute or dotted path (`a.b.0`) of `v`; undefined when missing.
fn path_of(v: &Value, path: &Value) -> Value {
    let Some(p) = path.as_str() else {
        return v.get_item(path).unwrap_or(Value::UNDEFINED);
    };
    let mut cur = v.clone();
    for seg in p.split('.') {
        let next = match seg.parse::<i64>() {
            Ok(i) if cur.kind() == ValueKind::Seq => cur.get_item(&Value::from(i)),
            _ => cur.get_item(&Value::from(seg)),
        };
        cur = next.unwrap_or(Value::UNDEFINED);
        if cur.is_undefined() {
            break;
        }
    }
    cur
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
    if v.is_undefined() || super::scope::holds_undefined(v) {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "undefined value passed to a filter",
        ));
    }
    // Bytes (`!!binary`) inside: Ansible's words for `to_json`.
    super::bytes::serialize(v)
        .ok_or_else(|| {
            invalid(
                "Object of type '_AnsibleTaggedBytes' is not JSON serializable by the 'tagless' profile.",
            )
        })?
        .map_err(|e| invalid(format!("cannot convert value to data: {e}")))
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

/// `mandatory`'s failure without a message of its own; the scope names the variable
/// (`Mandatory variable 'x' not defined.`, as Ansible).
pub(crate) const MANDATORY_UNDEFINED: &str = "Mandatory variable not defined.";

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            msg.unwrap_or_else(|| MANDATORY_UNDEFINED.to_owned()),
        ));
    }
    Ok(v)
}

fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let style = super::pyjson::Style {
        indent,
        sort_keys: sort_keys.unwrap_or(false),
    };
    Ok(super::pyjson::dumps(&json_of(&v)?, style))
}

fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
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

fn to_yaml(v: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    yaml_with(&v, indent.unwrap_or(2), true, &kwargs)
}

fn to_nice_yaml(v: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    yaml_with(&v, indent.unwrap_or(4), false, &kwargs)
}

/// PyYAML's dump with the options dr can honour: `indent`, `default_flow_style` (none or
/// false), `explicit_start`, `sort_keys=True`, `allow_unicode=True`, and `canonical=True`
/// and `default_style='|'` for a scalar alone.
fn yaml_with(v: &Value, indent: usize, flow: bool, kwargs: &Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        None => flow,
        Some(f) if f.is_none() => true,
        Some(f) if !f.is_true() => false,
        Some(_) => {
            return Err(invalid(
                "to_yaml: default_flow_style=True is not supported by dr",
            ));
        }
    };
    let explicit_start = kwargs
        .get::<Option<bool>>("explicit_start")?
        .unwrap_or(false);
    for (name, supported) in [("sort_keys", true), ("allow_unicode", true)] {
        if kwargs
            .get::<Option<bool>>(name)?
            .is_some_and(|b| b != supported)
        {
            return Err(invalid(format!(
                "to_yaml: {name}={} is not supported by dr",
                if supported { "False" } else { "True" }
            )));
        }
    }
    let canonical = kwargs.get::<Option<bool>>("canonical")?.unwrap_or(false);
    let default_style = kwargs.get::<Option<Value>>("default_style")?;
    kwargs.assert_all_used().map_err(|_| {
        invalid("to_yaml: dr supports indent, default_flow_style, explicit_start, sort_keys, allow_unicode, canonical and default_style")
    })?;
    // Ansible writes bytes (`!!binary`) as `!!binary`; dr's writer cannot.
    let json = json_of(v).map_err(|e| {
        if e.detail()
            .is_some_and(|d| d.contains("_AnsibleTaggedBytes"))
        {
            invalid("to_yaml: bytes (a `!!binary` value) are not supported by dr")
        } else {
            e
        }
    })?;
    if canonical {
        return yaml_style::canonical_document(&json).ok_or_else(|| {
            invalid("to_yaml: dr writes canonical=True for a string, an integer, a boolean or null alone, not for this value")
        });
    }
    match (default_style.as_ref().and_then(Value::as_str), &json) {
        (None, _) if default_style.as_ref().is_none_or(Value::is_none) => {}
        (Some("|"), Json::String(s)) => {
            // PyYAML's best indent: 2 unless 1 < indent < 10.
            let indent = if (2..10).contains(&indent) { indent } else { 2 };
            return yaml_style::literal_document(s, indent, explicit_start).ok_or_else(|| {
                invalid("to_yaml: dr writes default_style='|' for a string PyYAML keeps in block style, not for this one")
            });
        }
        _ => {
            return Err(invalid(
                "to_yaml: dr supports default_style='|' for a string alone, not this style or value",
            ));
        }
    }
    let body = super::yaml::emit(&json, indent, flow);
    Ok(if !explicit_start {
        body
    } else if json.is_object() || json.is_array() {
        format!("---\n{body}")
    } else {
        // An explicit start needs no `...` end marker after a plain scalar.
        format!("--- {}", body.strip_suffix("...\n").unwrap_or(&body))
    })
}

fn build_regex(pattern: &str, kwargs: &Kwargs) -> Result<std::sync::Arc<Regex>, Error> {
    let ignorecase: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    regex_cached(
        pattern,
        ignorecase.unwrap_or(false),
        multiline.unwrap_or(false),
    )
}

/// Python's regular expressions have look-around and backreferences: fancy-regex has them
/// (and hands the rest to the regex crate).
type Regex = fancy_regex::Regex;

type RegexCache = std::collections::HashMap<(String, bool, bool), std::sync::Arc<Regex>>;

/// Compiled regular expressions, so a filter in a loop compiles its pattern once.
static REGEXES: std::sync::LazyLock<std::sync::Mutex<RegexCache>> =
    std::sync::LazyLock::new(Default::default);

/// `pattern` compiled with Python's flags, from the cache when it was seen before.
fn regex_cached(
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<std::sync::Arc<Regex>, Error> {
    let key = (pattern.to_owned(), ignorecase, multiline);
    if let Ok(cache) = REGEXES.lock()
        && let Some(re) = cache.get(&key)
    {
        return Ok(re.clone());
    }
    let re = std::sync::Arc::new(
        fancy_regex::RegexBuilder::new(pattern)
            .case_insensitive(ignorecase)
            .multi_line(multiline)
            .build()
            .map_err(|e| invalid(format!("invalid regular expression `{pattern}`: {e}")))?,
    );
    if let Ok(mut cache) = REGEXES.lock() {
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(key, re.clone());
    }
    Ok(re)
}

/// A match that could not finish (fancy-regex gives up on runaway backtracking).
fn regex_failed(e: fancy_regex::Error) -> Error {
    invalid(format!("regular expression: {e}"))
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
    let count: usize = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory_count: usize = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let repl = python_replacement(&replacement.unwrap_or_default());
    if mandatory_count > 0 {
        let found = re
            .find_iter(&s)
            .try_fold(0, |n, m| m.map(|_| n + 1))
            .map_err(regex_failed)?;
        let found = if count > 0 { found.min(count) } else { found };
        if found != mandatory_count {
            return Err(invalid(format!(
                "'{pattern}' should match {mandatory_count} times, but matches {found} times in '{s}'"
            )));
        }
    }
    re.try_replacen(&s, count, repl.as_str())
        .map(std::borrow::Cow::into_owned)
        .map_err(regex_failed)
}

fn regex_search(
    v: Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let re = build_regex(&pattern, &kwargs)?;
    let Some(caps) = re.captures(&s).map_err(regex_failed)? else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        if !g.starts_with('\\') {
            return Err(invalid("Unknown argument"));
        }
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
    kwargs.assert_all_used()?;
    let groups = re.captures_len() - 1;
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|caps| caps.map_err(regex_failed))
        .map(|caps| {
            caps.map(|caps| match groups {
                0 => Value::from(caps.get(0).map_or("", |m| m.as_str())),
                1 => Value::from(caps.get(1).map_or("", |m| m.as_str())),
                n => Value::from(
                    (1..=n)
                        .map(|i| Value::from(caps.get(i).map_or("", |m| m.as_str())))
                        .collect::<Vec<_>>(),
                ),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Value::from(out))
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

/// How `combine` merges two lists under the same key.
const LIST_MERGES: [&str; 6] = [
    "replace",
    "keep",
    "append",
    "prepend",
    "append_rp",
    "prepend_rp",
];

/// Ansible's `merge_hash`: `y`'s keys win over `x`'s.
pub(crate) fn merge_hash(
    x: &Json,
    y: &Json,
    recursive: bool,
    list_merge: &str,
) -> Result<Json, Error> {
    let (Json::Object(xm), Json::Object(ym)) = (x, y) else {
        return Err(invalid(format!(
            "failed to combine variables, expected dicts but got a '{}' and a '{}'.",
            crate::modules::argspec::type_name(x),
            crate::modules::argspec::type_name(y)
        )));
    };
    if xm.is_empty() || x == y {
        return Ok(y.clone());
    }
    let mut out = xm.clone();
    for (key, yv) in ym {
        let merged = match (out.get(key), yv) {
            (Some(xv @ Json::Object(_)), Json::Object(_)) if recursive => {
                merge_hash(xv, yv, recursive, list_merge)?
            }
            (Some(Json::Array(xl)), Json::Array(yl)) => {
                let not_in_y = || xl.iter().filter(|z| !yl.contains(z)).cloned();
                match list_merge {
                    "keep" => continue,
                    "append" => Json::Array(xl.iter().chain(yl).cloned().collect()),
                    "prepend" => Json::Array(yl.iter().chain(xl).cloned().collect()),
                    "append_rp" => Json::Array(not_in_y().chain(yl.iter().cloned()).collect()),
                    "prepend_rp" => Json::Array(yl.iter().cloned().chain(not_in_y()).collect()),
                    _ => yv.clone(),
                }
            }
            _ => yv.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Ok(Json::Object(out))
}

fn combine(base: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs
        .get::<Option<Value>>("recursive")?
        .is_some_and(|r| r.is_true());
    let list_merge: Option<String> = kwargs.get("list_merge")?;
    let list_merge = list_merge.unwrap_or_else(|| "replace".to_owned());
    kwargs.assert_all_used().map_err(|_| {
        invalid("'recursive' and 'list_merge' are the only valid keyword arguments")
    })?;
    if !LIST_MERGES.contains(&list_merge.as_str()) {
        return Err(invalid(
            "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'",
        ));
    }
    // `[a, b] | combine` and `a | combine(b, [c, d])`: one level of lists is flattened,
    // nulls dropped, as Ansible's `flatten(terms, levels=1)` does.
    let mut dicts = Vec::new();
    for term in std::iter::once(&base).chain(others.iter()) {
        match json_of(term)? {
            Json::Array(items) => dicts.extend(items.into_iter().filter(|i| !i.is_null())),
            Json::Null => {}
            other => dicts.push(other),
        }
    }
    let Some(mut result) = dicts.pop() else {
        return Ok(Value::from(
            minijinja::value::Serde(&serde_json::Map::new()),
        ));
    };
    if dicts.is_empty() && !result.is_object() {
        return Err(invalid("combine: expects mappings"));
    }
    while let Some(lower) = dicts.pop() {
        result = merge_hash(&lower, &result, recursive, &list_merge)?;
    }
    Ok(Value::from(minijinja::value::Serde(&result)))
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
    if v.is_none() {
        return Ok("''".to_owned());
    }
    Ok(shell_quote(&string_of(&v)?))
}
