//! YAML for `to_yaml` / `to_nice_yaml`, laid out as PyYAML lays it out for Ansible.
//!
//! Keys sorted; sequences inside mappings not indented; `- ` before scalar items and
//! `-` padded to the indent before nested collections. `to_yaml` (PyYAML's
//! `default_flow_style=None`) writes collections that hold only scalars in flow style
//! (`[1, 2]`, `{a: 1}`); `to_nice_yaml` writes everything in block style. Multi-line
//! strings are written double-quoted (PyYAML folds them into single quotes instead).

use serde_json::Value as Json;

/// Emits `v` as one YAML document, `indent` spaces per level, leaf collections in flow
/// style when `flow_leaves`.
pub(crate) fn emit(v: &Json, indent: usize, flow_leaves: bool) -> String {
    let e = Emitter {
        indent: indent.max(2),
        flow_leaves,
    };
    let mut out = String::new();
    match v {
        Json::Object(_) | Json::Array(_) if e.flow(v) => {
            out.push_str(&flow_at(v, 0, e.indent));
            out.push('\n');
        }
        Json::Object(_) | Json::Array(_) => e.block(v, 0, &mut out),
        scalar => {
            let text = scalar_text(scalar, false);
            let plain = !text.starts_with(['\'', '"']);
            out.push_str(&text);
            out.push('\n');
            if plain {
                // PyYAML ends an open-ended plain scalar document explicitly.
                out.push_str("...\n");
            }
        }
    }
    out
}

struct Emitter {
    indent: usize,
    flow_leaves: bool,
}

/// The column the next character of `out` goes to.
fn line_column(out: &str) -> usize {
    out.rsplit('\n').next().map_or(0, |l| l.chars().count())
}

fn is_collection(v: &Json) -> bool {
    matches!(v, Json::Object(_) | Json::Array(_))
}

fn is_empty_collection(v: &Json) -> bool {
    match v {
        Json::Object(m) => m.is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl Emitter {
    /// Whether `v` is written in flow style.
    fn flow(&self, v: &Json) -> bool {
        if is_empty_collection(v) {
            return true;
        }
        self.flow_leaves
            && match v {
                Json::Object(m) => m.values().all(|c| !is_collection(c)),
                Json::Array(a) => a.iter().all(|c| !is_collection(c)),
                _ => false,
            }
    }

    /// Writes a block collection whose lines start at column `level`.
    fn block(&self, v: &Json, level: usize, out: &mut String) {
        let pad = " ".repeat(level);
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for k in keys {
                    let Some(value) = m.get(k) else { continue };
                    out.push_str(&pad);
                    out.push_str(&string_text(k, false));
                    out.push(':');
                    if is_collection(value) && !self.flow(value) {
                        out.push('\n');
                        let child = if matches!(value, Json::Array(_)) {
                            level
                        } else {
                            level + self.indent
                        };
                        self.block(value, child, out);
                    } else {
                        out.push(' ');
                        let column = line_column(out);
                        out.push_str(&self.inline(value, column, level + self.indent));
                        out.push('\n');
                    }
                }
            }
            Json::Array(items) => {
                for item in items {
                    out.push_str(&pad);
                    if is_collection(item) && !self.flow(item) {
                        out.push('-');
                        out.push_str(&" ".repeat(self.indent - 1));
                        let mut nested = String::new();
                        self.block(item, level + self.indent, &mut nested);
                        // The first nested line goes right after the dash.
                        out.push_str(nested.trim_start_matches(' '));
                    } else {
                        out.push_str("- ");
                        let column = line_column(out);
                        out.push_str(&self.inline(item, column, level + self.indent));
                        out.push('\n');
                    }
                }
            }
            scalar => {
                out.push_str(&pad);
                out.push_str(&scalar_text(scalar, false));
                out.push('\n');
            }
        }
    }

    fn inline(&self, v: &Json, column: usize, wrap_indent: usize) -> String {
        if is_collection(v) {
            flow_at(v, column, wrap_indent)
        } else {
            scalar_text(v, false)
        }
    }
}

/// Lines longer than this are wrapped inside flow collections (PyYAML's `best_width`).
const BEST_WIDTH: usize = 80;

/// A collection in flow style starting at `column`; wrapped lines are indented by
/// `indent` spaces, as PyYAML does.
fn flow_at(v: &Json, column: usize, indent: usize) -> String {
    let mut w = FlowWriter {
        out: String::new(),
        column,
        indent,
    };
    w.value(v);
    w.out
}

struct FlowWriter {
    out: String,
    column: usize,
    indent: usize,
}

impl FlowWriter {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    /// Before an item: a separator, then a line break when past the width.
    fn item_start(&mut self, first: bool) {
        if !first {
            self.push(",");
        }
        if self.column > BEST_WIDTH {
            self.out.push('\n');
            self.out.push_str(&" ".repeat(self.indent));
            self.column = self.indent;
        } else if !first {
            self.push(" ");
        }
    }

    fn value(&mut self, v: &Json) {
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                self.push("{");
                for (i, k) in keys.into_iter().enumerate() {
                    let Some(item) = m.get(k) else { continue };
                    self.item_start(i == 0);
                    self.push(&string_text(k, true));
                    self.push(": ");
                    self.value(item);
                }
                self.push("}");
            }
            Json::Array(a) => {
                self.push("[");
                for (i, item) in a.iter().enumerate() {
                    self.item_start(i == 0);
                    self.value(item);
                }
                self.push("]");
            }
            scalar => self.push(&scalar_text(scalar, true)),
        }
    }
}

fn scalar_text(v: &Json, in_flow: bool) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => string_text(s, in_flow),
        other => other.to_string(),
    }
}

fn string_text(s: &str, in_flow: bool) -> String {
    if s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_else(|_| format!("'{s}'"));
    }
    if needs_quotes(s, in_flow) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
}

fn needs_quotes(s: &str, in_flow: bool) -> bool {
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
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
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
            emit(&v, 2, false),
            "a:\n  x: hello world\n  y: ''\nb:\n- 1\n- 'yes'\n"
        );
    }

    #[test]
    fn nice_indent_and_list_of_maps() {
        let v = json!({"l": [{"k": 1, "j": 2}]});
        assert_eq!(emit(&v, 4, false), "l:\n-   j: 2\n    k: 1\n");
    }
}
