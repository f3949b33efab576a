//! The lookups that only transform their terms (`items`, `dict`, `nested`, `sequence`, ...)
//! and `vars`: they give the same answer wherever they run, so they run with the template.

use minijinja::Error;
use serde_json::{Map, Value as Json};

use super::lookup::VarReader;
use crate::wire::LookupAnswer;

/// Runs data lookup `plugin`; `Err` is the plugin's failure message.
pub fn run(plugin: &str, terms: &[Json], options: &Map<String, Json>) -> Result<Vec<Json>, String> {
    if let Some(key) = options
        .keys()
        .find(|k| plugin != "sequence" || !SEQUENCE_KEYS.contains(&k.as_str()))
    {
        return Err(format!("the `{plugin}` lookup has no option `{key}`"));
    }
    match plugin {
        "items" => Ok(flatten(terms)),
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(flatten(terms)
            .into_iter()
            .enumerate()
            .map(|(i, x)| Json::Array(vec![Json::from(i), x]))
            .collect()),
        "dict" => dict(terms),
        "nested" => nested(terms),
        "together" => together(terms),
        "subelements" => subelements(terms),
        "sequence" => sequence(terms, options),
        other => Err(format!("`{other}` is not a data lookup")),
    }
}

/// The `vars` lookup: each term names a variable; `default` replaces a missing one.
pub fn vars(
    terms: &[Json],
    options: &Map<String, Json>,
    read: &VarReader<'_>,
) -> Result<LookupAnswer, Error> {
    if let Some(key) = options.keys().find(|k| *k != "default") {
        return Ok(LookupAnswer::Error(format!(
            "the `vars` lookup has no option `{key}`"
        )));
    }
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            let kind = crate::modules::argspec::type_name(term);
            return Ok(LookupAnswer::Error(format!(
                "Variable name must be 'str' not '{kind}'."
            )));
        };
        match (read(name)?, options.get("default")) {
            (Some(v), _) => out.push(v),
            (None, Some(default)) => out.push(default.clone()),
            (None, None) => {
                // Ansible's words (playbooks test for them).
                return Ok(LookupAnswer::Error(format!(
                    "No variable named {} was found.",
                    super::pyrepr::repr_str(name)
                )));
            }
        }
    }
    Ok(LookupAnswer::Values(out))
}

/// Ansible's `LookupBase._flatten`: one level of lists.
fn flatten(terms: &[Json]) -> Vec<Json> {
    let mut out = Vec::new();
    for t in terms {
        match t {
            Json::Array(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    out
}

fn dict(terms: &[Json]) -> Result<Vec<Json>, String> {
    let mut out = Vec::new();
    for term in terms {
        let Json::Object(map) = term else {
            return Err(format!(
                "the `dict` lookup plugin expects a dictionary, got `{term}`"
            ));
        };
        for (k, v) in map {
            out.push(serde_json::json!({"key": k, "value": v}));
        }
    }
    Ok(out)
}

fn as_list(term: &Json) -> Vec<Json> {
    match term {
        Json::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn nested(terms: &[Json]) -> Result<Vec<Json>, String> {
    let Some((first, rest)) = terms.split_first() else {
        return Err("`with_nested` requires at least one element in the nested list".into());
    };
    let mut result: Vec<Json> = as_list(first);
    for next in rest {
        let next = as_list(next);
        let mut combined = Vec::new();
        for x in &result {
            for y in &next {
                combined.push(Json::Array(flatten(&[x.clone(), y.clone()])));
            }
        }
        result = combined;
    }
    Ok(result
        .iter()
        .map(|x| Json::Array(flatten(&as_list(x))))
        .collect())
}

fn together(terms: &[Json]) -> Result<Vec<Json>, String> {
    if terms.is_empty() {
        return Err("with_together requires at least one element in each list".into());
    }
    let lists: Vec<Vec<Json>> = terms.iter().map(as_list).collect();
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..len)
        .map(|i| {
            let row: Vec<Json> = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                .collect();
            Json::Array(flatten(&row))
        })
        .collect())
}

fn subelements(terms: &[Json]) -> Result<Vec<Json>, String> {
    let usage = "the `subelements` lookup expects a list of two or three items: first a dict or a list, second a string pointing to the subkey";
    if !(2..=3).contains(&terms.len()) {
        return Err(usage.into());
    }
    let Some(path) = terms[1].as_str() else {
        return Err(usage.into());
    };
    let elements: Vec<Json> = match &terms[0] {
        Json::Array(items) => items.clone(),
        Json::Object(map) if map.get("skipped").is_some_and(|s| s != &Json::Bool(false)) => {
            return Ok(Vec::new());
        }
        Json::Object(map) => map.values().cloned().collect(),
        _ => return Err(usage.into()),
    };
    let skip_missing = match terms.get(2) {
        None => false,
        Some(Json::Object(flags)) => {
            if let Some(k) = flags.keys().find(|k| *k != "skip_missing") {
                return Err(format!(
                    "{usage}; the optional third item must be a dict with flags [skip_missing], not `{k}`"
                ));
            }
            flags.get("skip_missing").is_some_and(truthy)
        }
        Some(_) => {
            return Err(format!(
                "{usage}; the optional third item must be a dict with flags [skip_missing]"
            ));
        }
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    for item in elements {
        let Json::Object(top) = &item else {
            return Err(format!(
                "the `subelements` lookup expects a dictionary, got `{item}`"
            ));
        };
        if top.get("skipped").is_some_and(|s| s != &Json::Bool(false)) {
            continue;
        }
        let mut owner = item.clone();
        let mut node = top;
        let mut sublist = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            let Some(value) = node.get(*key) else {
                if skip_missing {
                    break;
                }
                return Err(format!(
                    "could not find '{key}' key in iterated item '{}'",
                    super::pyrepr::repr_json(&Json::Object(node.clone()))
                ));
            };
            if last {
                let Json::Array(list) = value else {
                    return Err(format!(
                        "the key {key} should point to a list, got '{}'",
                        super::pyrepr::repr_json(value)
                    ));
                };
                sublist = list.clone();
            } else {
                let Json::Object(inner) = value else {
                    if skip_missing {
                        break;
                    }
                    return Err(format!(
                        "the key {key} should point to a dictionary, got '{}'",
                        super::pyrepr::repr_json(value)
                    ));
                };
                node = inner;
            }
        }
        // Ansible pops the sub-list out of the item it returns.
        remove_path(&mut owner, &keys);
        for sub in sublist {
            out.push(Json::Array(vec![owner.clone(), sub]));
        }
    }
    Ok(out)
}

fn remove_path(item: &mut Json, keys: &[&str]) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut node = item;
    for k in parents {
        match node.get_mut(*k) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Json::Object(map) = node
        && matches!(map.get(*last), Some(Json::Array(_)))
    {
        map.shift_remove(*last);
    }
}

fn truthy(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on" | "1" | "y"
        ),
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

const SEQUENCE_KEYS: &[&str] = &["start", "end", "count", "stride", "format"];

/// Fields of one `sequence` term.
#[derive(Debug, Clone)]
struct Sequence {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

fn sequence(terms: &[Json], options: &Map<String, Json>) -> Result<Vec<Json>, String> {
    let terms: Vec<Json> = if terms.is_empty() && !options.is_empty() {
        vec![Json::from("")]
    } else {
        terms.to_vec()
    };
    let mut out = Vec::new();
    for term in &terms {
        let mut seq = Sequence {
            start: 1,
            end: None,
            count: None,
            stride: 1,
            format: "%d".into(),
        };
        for (k, v) in options {
            set_field(&mut seq, k, &plain(v))?;
        }
        let text = plain(term);
        if !parse_shortcut(&text, &mut seq)? {
            for pair in text.split_whitespace() {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(format!(
                        "unknown error parsing with_sequence arguments: `{text}`"
                    ));
                };
                if !SEQUENCE_KEYS.contains(&k) {
                    return Err(format!("unrecognized arguments to with_sequence: ['{k}']"));
                }
                set_field(&mut seq, k, v)?;
            }
        }
        out.extend(generate(seq)?.into_iter().map(Json::from));
    }
    Ok(out)
}

fn plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn set_field(seq: &mut Sequence, key: &str, value: &str) -> Result<(), String> {
    match key {
        "format" => seq.format = value.to_owned(),
        "start" => seq.start = option_number(key, value)?,
        "end" => seq.end = Some(option_number(key, value)?),
        "count" => seq.count = Some(option_number(key, value)?),
        "stride" => seq.stride = option_number(key, value)?,
        other => {
            return Err(format!(
                "unrecognized arguments to with_sequence: ['{other}']"
            ));
        }
    }
    Ok(())
}

/// A `key=value` option's number, refused in the words of Ansible's option check.
fn option_number(key: &str, value: &str) -> Result<i64, String> {
    number(value).map_err(|_| {
        format!(
            "Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': {}",
            super::pyrepr::repr_str(value)
        )
    })
}

/// Python's `int(x, 0)`: decimal, `0x` hex, `0o`/leading-zero octal.
fn number(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let parsed = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16)
    } else if let Some(o) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        i64::from_str_radix(o, 8)
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse()
    };
    parsed
        .map(|n| if neg { -n } else { n })
        .map_err(|_| format!("can't parse `{s}` as an integer in with_sequence"))
}

/// `[start-]end[/stride][:format]`; false when `text` is not of that form.
fn parse_shortcut(text: &str, seq: &mut Sequence) -> Result<bool, String> {
    let (range, format) = match text.split_once(':') {
        Some((r, f)) => (r, Some(f)),
        None => (text, None),
    };
    let (range, stride) = match range.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (range, None),
    };
    let (start, end) = match range.split_once('-') {
        Some((s, e)) => (Some(s), e),
        None => (None, range),
    };
    // Ansible's `0?x?[0-9a-f]+`, any case: `A-4` is the shortcut form, whose `A` then
    // fails the option's integer check.
    let is_num = |s: &str| {
        let rest = s.strip_prefix('0').unwrap_or(s);
        let rest = rest
            .strip_prefix('x')
            .or_else(|| rest.strip_prefix('X'))
            .unwrap_or(rest);
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit())
    };
    if !is_num(end) || !start.is_none_or(is_num) || !stride.is_none_or(is_num) {
        return Ok(false);
    }
    if let Some(s) = start {
        seq.start = option_number("start", s)?;
    }
    seq.end = Some(option_number("end", end)?);
    if let Some(s) = stride {
        seq.stride = option_number("stride", s)?;
    }
    if let Some(f) = format {
        seq.format = f.to_owned();
    }
    Ok(true)
}

fn generate(mut seq: Sequence) -> Result<Vec<String>, String> {
    match (seq.count, seq.end) {
        (None, None) => return Err("must specify count or end in with_sequence".into()),
        (Some(_), Some(_)) => {
            return Err("can't specify both count and end in with_sequence".into());
        }
        (Some(0), None) => return Ok(Vec::new()),
        (Some(c), None) => seq.end = Some(seq.start + c * seq.stride - 1),
        (None, Some(_)) => {}
    }
    let end = seq.end.unwrap_or(seq.start);
    if seq.stride > 0 && end < seq.start {
        return Err("to count backwards make stride negative".into());
    }
    if seq.stride < 0 && end > seq.start {
        return Err("to count forward don't make stride negative".into());
    }
    if seq.stride == 0 {
        return Ok(Vec::new());
    }
    if seq.format.matches('%').count() != 1 {
        return Err(format!("bad formatting string: {}", seq.format));
    }
    let mut out = Vec::new();
    let mut i = seq.start;
    while (seq.stride > 0 && i <= end) || (seq.stride < 0 && i >= end) {
        out.push(printf_int(&seq.format, i)?);
        i += seq.stride;
    }
    Ok(out)
}

/// Python's `format % i` for one integer directive (`%d`, `%05d`, `%x`, `%o`, `%s`, ...).
fn printf_int(format: &str, i: i64) -> Result<String, String> {
    let bad = || format!("problem formatting {i} with `{format}`");
    let at = format.find('%').ok_or_else(bad)?;
    let (head, rest) = (&format[..at], &format[at + 1..]);
    let spec_len = rest
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(bad)?;
    let (flags, conv) = (&rest[..spec_len], &rest[spec_len..spec_len + 1]);
    let tail = &rest[spec_len + 1..];
    let zero = flags.starts_with('0');
    let left = flags.starts_with('-');
    let width: usize = flags.trim_start_matches(['0', '-']).parse().unwrap_or(0);
    let body = match conv {
        "d" | "i" | "u" | "s" => i.to_string(),
        "x" => format!("{i:x}"),
        "X" => format!("{i:X}"),
        "o" => format!("{i:o}"),
        _ => return Err(bad()),
    };
    let padded = if left {
        format!("{body:<width$}")
    } else if zero {
        format!("{body:0>width$}")
    } else {
        format!("{body:>width$}")
    };
    Ok(format!("{head}{padded}{tail}"))
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
