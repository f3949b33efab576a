//! Jinja2 builtins as Jinja2 runs them where minijinja's differ (`replace` with a count,
//! `truncate`, `indent` with a string, `tojson`, `attr`) or lacks them (`wordwrap`,
//! `xmlattr`, `forceescape`).

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, Value};

use super::{invalid, opt_arg, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "replace", replace);
    super::strict::add(env, "truncate", truncate);
    super::strict::add(env, "indent", indent);
    super::strict::add(env, "tojson", tojson);
    super::strict::add(env, "attr", attr);
    super::strict::add(env, "wordwrap", wordwrap);
    super::strict::add(env, "xmlattr", xmlattr);
    super::strict::add(env, "forceescape", |v: Value| -> Result<String, Error> {
        Ok(html_escape(&string_of(&v)?))
    });
}

/// Python's `str.replace(old, new, count)`.
fn replace(
    v: Value,
    old: String,
    new: String,
    count: Option<i64>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let count = opt_arg::<i64>(count, &kwargs, "count")?;
    kwargs.assert_all_used()?;
    let s = string_of(&v)?;
    Ok(match count.filter(|c| *c >= 0) {
        Some(c) => s.replacen(&old, &new, c as usize),
        None => s.replace(&old, &new),
    })
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(v: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let pos = |i: usize| args.get(i).cloned();
    let length = opt_arg::<Value>(pos(0), &kwargs, "length")?;
    let killwords = opt_arg::<Value>(pos(1), &kwargs, "killwords")?;
    let end = opt_arg::<Value>(pos(2), &kwargs, "end")?;
    let leeway = opt_arg::<Value>(pos(3), &kwargs, "leeway")?;
    kwargs.assert_all_used()?;
    let count = |v: Option<Value>, dflt: usize| match v.filter(|v| !v.is_none()) {
        None => Ok(dflt),
        Some(v) => v
            .as_i64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| invalid("truncate: lengths must be non-negative integers")),
    };
    let s = string_of(&v)?;
    let length = count(length, 255)?;
    let killwords = killwords.is_some_and(|k| k.is_true());
    let end = end.map_or_else(
        || "...".to_owned(),
        |e| super::super::pyrepr::python_str(&e),
    );
    let leeway = count(leeway, 5)?;
    let chars: Vec<char> = s.chars().collect();
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid(format!(
            "expected length >= {end_len}, got {length}"
        )));
    }
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let head: String = chars[..length - end_len].iter().collect();
    if killwords {
        return Ok(format!("{head}{end}"));
    }
    let head = match head.rsplit_once(' ') {
        Some((before, _)) => before.to_owned(),
        None => head,
    };
    Ok(format!("{head}{end}"))
}

/// Python's `str.splitlines()`.
fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        ) {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r' && iter.peek().is_some_and(|(_, d)| *d == '\n') {
                iter.next();
                next += 1;
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Jinja2's `indent(width=4, first=False, blank=False)`; `width` may be a string.
fn indent(
    v: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = opt_arg::<Value>(width, &kwargs, "width")?;
    let first = opt_arg::<bool>(first, &kwargs, "first")?.unwrap_or(false);
    let blank = opt_arg::<bool>(blank, &kwargs, "blank")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let indention = match width {
        None => "    ".to_owned(),
        Some(w) => match w.as_str() {
            Some(s) => s.to_owned(),
            None => " ".repeat(
                w.as_i64()
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0),
            ),
        },
    };
    let s = format!("{}\n", string_of(&v)?);
    let lines = splitlines(&s);
    let mut rv = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut it = lines.into_iter();
        let mut rv = it.next().unwrap_or("").to_owned();
        let rest: Vec<String> = it
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{indention}{l}")
                }
            })
            .collect();
        if !rest.is_empty() {
            rv.push('\n');
            rv.push_str(&rest.join("\n"));
        }
        rv
    };
    if first {
        rv = format!("{indention}{rv}");
    }
    Ok(rv)
}

/// Jinja2's `tojson`: keys sorted (Ansible's policy), HTML-sensitive characters escaped.
fn tojson(v: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = opt_arg::<usize>(indent, &kwargs, "indent")?;
    kwargs.assert_all_used()?;
    let style = super::super::pyjson::Style {
        indent,
        sort_keys: true,
    };
    let text = super::super::pyjson::dumps(&super::json_of(&v)?, style);
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027"))
}

/// Jinja2's `attr`: a Python attribute, which mappings, lists and strings do not have for
/// their items (so the result is undefined).
fn attr(v: Value, name: String) -> Value {
    match v.kind() {
        // A list has no attributes; a `groupby` group (Python's namedtuple) has `grouper`
        // and `list`.
        ValueKind::Seq => v.get_attr(&name).unwrap_or(Value::UNDEFINED),
        ValueKind::Map
        | ValueKind::String
        | ValueKind::Number
        | ValueKind::Bool
        | ValueKind::None => Value::UNDEFINED,
        _ => v.get_attr(&name).unwrap_or(Value::UNDEFINED),
    }
}

/// Jinja2's `wordwrap(width=79, break_long_words=True, wrapstring='\n')`: each line is
/// filled greedily with its space-separated words (hyphenated words are not split).
fn wordwrap(
    v: Value,
    width: Option<usize>,
    break_long_words: Option<bool>,
    wrapstring: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = opt_arg::<usize>(width, &kwargs, "width")?
        .unwrap_or(79)
        .max(1);
    let break_long =
        opt_arg::<bool>(break_long_words, &kwargs, "break_long_words")?.unwrap_or(true);
    let wrapstring =
        opt_arg::<String>(wrapstring, &kwargs, "wrapstring")?.unwrap_or_else(|| "\n".to_owned());
    kwargs.assert_all_used()?;
    let s = string_of(&v)?;
    let mut paragraphs = Vec::new();
    for line in splitlines(&s) {
        let mut out: Vec<String> = Vec::new();
        let mut cur = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let mut word = word.to_owned();
            loop {
                let need = if cur.is_empty() {
                    word.chars().count()
                } else {
                    cur.chars().count() + 1 + word.chars().count()
                };
                if need <= width {
                    if !cur.is_empty() {
                        cur.push(' ');
                    }
                    cur.push_str(&word);
                    break;
                }
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                if !break_long {
                    out.push(word);
                    break;
                }
                let head: String = word.chars().take(width).collect();
                let tail: String = word.chars().skip(width).collect();
                out.push(head);
                word = tail;
                if word.is_empty() {
                    break;
                }
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        paragraphs.push(out.join(&wrapstring));
    }
    Ok(paragraphs.join(&wrapstring))
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Jinja2's `xmlattr(autospace=True)`: `key="value"` pairs, none and undefined values left out.
fn xmlattr(v: Value, autospace: Option<bool>) -> Result<String, Error> {
    if v.kind() != ValueKind::Map {
        return Err(invalid("xmlattr: expects a mapping"));
    }
    let mut parts = Vec::new();
    for key in v.try_iter()? {
        let value = v.get_item(&key)?;
        if value.is_none() || value.is_undefined() {
            continue;
        }
        let k = super::super::pyrepr::python_str(&key);
        if k.chars().any(|c| c.is_whitespace() || "/>=".contains(c)) {
            return Err(invalid(format!(
                "Invalid character in attribute name: '{k}'"
            )));
        }
        parts.push(format!(
            "{}=\"{}\"",
            html_escape(&k),
            html_escape(&super::super::pyrepr::python_str(&value))
        ));
    }
    let joined = parts.join(" ");
    Ok(if autospace.unwrap_or(true) && !joined.is_empty() {
        format!(" {joined}")
    } else {
        joined
    })
}
