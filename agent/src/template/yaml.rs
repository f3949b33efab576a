//! A small block-style YAML emitter for `to_yaml` / `to_nice_yaml`.
//!
//! Close to PyYAML's output with `default_flow_style=False`: keys sorted, sequences inside
//! mappings not indented, strings quoted only when YAML would misread them.

use serde_json::Value as Json;

/// Emits `v` as a YAML document with `indent` spaces per level.
pub(crate) fn emit(v: &Json, indent: usize) -> String {
    let indent = indent.max(2);
    let mut out = String::new();
    match v {
        Json::Object(m) if m.is_empty() => out.push_str("{}\n"),
        Json::Array(a) if a.is_empty() => out.push_str("[]\n"),
        Json::Object(_) | Json::Array(_) => block(v, 0, indent, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn block(v: &Json, level: usize, indent: usize, out: &mut String) {
    let pad = " ".repeat(level);
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let Some(value) = m.get(k) else { continue };
                out.push_str(&pad);
                out.push_str(&string_text(k));
                out.push(':');
                match value {
                    Json::Object(inner) if !inner.is_empty() => {
                        out.push('\n');
                        block(value, level + indent, indent, out);
                    }
                    Json::Array(inner) if !inner.is_empty() => {
                        out.push('\n');
                        block(value, level, indent, out);
                    }
                    scalar => {
                        out.push(' ');
                        out.push_str(&inline(scalar));
                        out.push('\n');
                    }
                }
            }
        }
        Json::Array(items) => {
            let dash = format!("-{}", " ".repeat(indent - 1));
            for item in items {
                out.push_str(&pad);
                out.push_str(&dash);
                match item {
                    Json::Object(inner) if !inner.is_empty() => {
                        let mut nested = String::new();
                        block(item, level + indent, indent, &mut nested);
                        // The first line goes after the dash.
                        out.push_str(nested.trim_start());
                    }
                    Json::Array(inner) if !inner.is_empty() => {
                        let mut nested = String::new();
                        block(item, level + indent, indent, &mut nested);
                        out.push_str(nested.trim_start());
                    }
                    scalar => {
                        out.push_str(&inline(scalar));
                        out.push('\n');
                    }
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn inline(v: &Json) -> String {
    match v {
        Json::Object(_) => "{}".to_owned(),
        Json::Array(_) => "[]".to_owned(),
        scalar => scalar_text(scalar),
    }
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => string_text(s),
        other => other.to_string(),
    }
}

fn string_text(s: &str) -> String {
    if s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_else(|_| format!("'{s}'"));
    }
    if needs_quotes(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o") {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_block_style() {
        let v = json!({"b": [1, "yes"], "a": {"x": "hello world", "y": ""}});
        assert_eq!(
            emit(&v, 2),
            "a:\n  x: hello world\n  y: ''\nb:\n- 1\n- 'yes'\n"
        );
    }

    #[test]
    fn nice_indent_and_list_of_maps() {
        let v = json!({"l": [{"k": 1, "j": 2}]});
        assert_eq!(emit(&v, 4), "l:\n-   j: 2\n    k: 1\n");
    }
}
