//! JSON exactly as Python's `json.dumps` writes it (what Ansible's `to_json` and
//! `to_nice_json` produce): `", "` / `": "` separators, `ensure_ascii`, Python floats.

use serde_json::Value as Json;

/// How to lay the JSON out.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Spaces per level; `None` = one line.
    pub indent: Option<usize>,
    /// Sort mapping keys.
    pub sort_keys: bool,
}

/// `json.dumps(v)` (`indent=None`) or `json.dumps(v, indent=n, sort_keys=.., separators=(',', ': '))`.
pub fn dumps(v: &Json, style: Style) -> String {
    let mut out = String::new();
    write(v, style, 0, &mut out);
    out
}

fn write(v: &Json, style: Style, level: usize, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if n.is_f64() {
                out.push_str(&super::pyrepr::float_repr(n.as_f64().unwrap_or(0.0)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Json::String(s) => string(s, out),
        Json::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(i, style, level + 1, out);
                write(item, style, level + 1, out);
            }
            close(style, level, out);
            out.push(']');
        }
        Json::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                separator(i, style, level + 1, out);
                string(k, out);
                out.push_str(": ");
                write(item, style, level + 1, out);
            }
            close(style, level, out);
            out.push('}');
        }
    }
}

fn separator(i: usize, style: Style, level: usize, out: &mut String) {
    match style.indent {
        None if i > 0 => out.push_str(", "),
        None => {}
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    }
}

fn close(style: Style, level: usize, out: &mut String) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

/// A JSON string with `ensure_ascii`: non-ASCII as `\uXXXX` (surrogate pairs above BMP).
fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && (c as u32) >= 0x20 => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}
