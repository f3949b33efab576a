//! The code inside a template's `{{ }}` and `{% %}` blocks, for the rewrites applied when
//! minijinja cannot read or run what Jinja2 can (`unary_plus.rs`, `percent.rs`).

use super::backslashes::{expression_end, statement_end};

/// `src` (a template) with the code of its `{{ }}` and `{% %}` blocks rewritten by
/// `rewrite` (`{% raw %}` sections left as text); `None` when nothing changed.
pub(super) fn rewrite(src: &str, rewrite: fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(src.len() + 8);
    let mut changed = false;
    let mut rest = src;
    while let Some(at) = rest.find('{') {
        let (text, tail) = rest.split_at(at);
        out.push_str(text);
        rest = tail;
        let (open, end) = if let Some(after) = rest.strip_prefix("{{") {
            (2, expression_end(after).map_or(rest.len(), |e| e + 2))
        } else if rest.starts_with("{%") {
            let end = statement_end(rest);
            let body = rest[..end].strip_suffix("%}").unwrap_or(&rest[..end]);
            (2, body.len())
        } else {
            out.push('{');
            rest = &rest[1..];
            continue;
        };
        // Whitespace-control markers right after the opening are not operators.
        let code_start =
            open + rest[open..].len() - rest[open..].trim_start_matches(['-', '+']).len();
        out.push_str(&rest[..code_start]);
        let code = &rest[code_start..end];
        // A `{% raw %}` section is text.
        if rest.starts_with("{%") && code.trim_start().starts_with("raw") {
            out.push_str(code);
        } else if let Some(new) = rewrite(code) {
            out.push_str(&new);
            changed = true;
        } else {
            out.push_str(code);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}
