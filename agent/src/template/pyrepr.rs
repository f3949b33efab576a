//! Printing values as Jinja2 (Python) prints them, so rendered files match Ansible's byte
//! for byte: `True`, `['a', 'b']`, `{'k': 1}`; `None` prints as nothing (Ansible's
//! finalize).

use minijinja::Value;
use minijinja::value::ValueKind;

/// Writes `v` as `str(v)` would in Python under Ansible's templar.
pub(super) fn python_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::None => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        _ => python_repr(v),
    }
}

/// Python's `repr()` of JSON data (for messages that quote a value as Ansible does).
pub fn repr_json(v: &serde_json::Value) -> String {
    python_repr(&Value::from(minijinja::value::Serde(v)))
}

/// Python's `repr()` of a value.
fn python_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".to_owned(),
        ValueKind::Bool if v.is_true() => "True".to_owned(),
        ValueKind::Bool => "False".to_owned(),
        ValueKind::String => repr_str(v.as_str().unwrap_or_default()),
        ValueKind::Number => {
            let s = v.to_string();
            match f64::try_from(v.clone()) {
                Ok(f) if v.as_i64().is_none() || s.contains('.') => float_repr(f),
                _ => s,
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|i| python_repr(&i)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let val = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&val))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => v.to_string(),
    }
}

fn float_repr(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{f}")
    }
}

/// Python's string repr: single quotes unless the text has `'` and no `"`.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
