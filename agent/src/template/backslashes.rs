//! Ansible's `escape_backslashes`: inside `{{ }}` expressions, a string constant keeps its
//! backslashes as written (`{{ 'c:\new' }}` is `c:\new`, `'\1'` reaches `regex_replace`
//! as a backreference), because YAML already processed them once. Statements (`{% %}`),
//! conditionals and the `template` module's files are not affected, as in Ansible.
//!
//! minijinja, like Jinja, reads escape sequences in string constants; so each string
//! constant of an expression is rewritten to one that minijinja reads back as the text
//! that was written.

use std::borrow::Cow;

/// `src` (a template) with the string constants of its `{{ }}` expressions rewritten so
/// their backslashes stay literal.
pub fn escape_in_template(src: &str) -> Cow<'_, str> {
    if !src.contains('\\') {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 8);
    let mut rest = src;
    while let Some(at) = rest.find('{') {
        let (text, tail) = rest.split_at(at);
        out.push_str(text);
        rest = tail;
        if rest.starts_with("{{") {
            let end = expression_end(&rest[2..]).map_or(rest.len(), |e| e + 2);
            out.push_str("{{");
            out.push_str(&escape_strings(&rest[2..end]));
            rest = &rest[end..];
        } else if rest.starts_with("{%") {
            let end = statement_end(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if rest.starts_with("{#") {
            let end = rest.find("#}").map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else {
            out.push('{');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A bare expression (`when:`-style evaluation with escaping, `debug: var=`) rewritten as
/// [`escape_in_template`] rewrites an expression block.
pub fn escape_in_expression(expr: &str) -> Cow<'_, str> {
    if !expr.contains('\\') {
        return Cow::Borrowed(expr);
    }
    Cow::Owned(escape_strings(expr))
}

/// Where the expression that starts `s` (after `{{`) ends: the index of its `}}`.
pub(super) fn expression_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => i = string_end(bytes, i, q),
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The index just past the string constant opening at `start` with quote `q`.
pub(super) fn string_end(bytes: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the bracket that closes the one at `open` (string constants
/// skipped); `None` when it is never closed.
pub(super) fn bracket_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = string_end(bytes, i, bytes[i]);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The end of the statement (or `{% raw %}` section) that starts `s`.
pub(super) fn statement_end(s: &str) -> usize {
    let inner = s[2..].trim_start_matches(['-', '+']).trim_start();
    if inner.starts_with("raw")
        && inner[3..]
            .trim_start_matches(['-', '+'])
            .trim_start()
            .starts_with("%}")
    {
        if let Some(at) = find_endraw(s) {
            return at;
        }
        return s.len();
    }
    let bytes = s.as_bytes();
    let mut i = 2;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => i = string_end(bytes, i, q),
            b'%' if bytes.get(i + 1) == Some(&b'}') => return i + 2,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Just past the `{% endraw %}` closing a raw section.
fn find_endraw(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = s[from..].find("{%") {
        let start = from + at;
        let inner = s[start + 2..].trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = inner.strip_prefix("endraw") {
            let after = after.trim_start_matches(['-', '+']).trim_start();
            if after.starts_with("%}") {
                let close = s[start..].find("%}")? + start + 2;
                return Some(close);
            }
        }
        from = start + 2;
    }
    None
}

/// Each string constant in an expression rewritten so that minijinja reads back its text
/// exactly as written: every backslash doubled, the quote escaped.
fn escape_strings(expr: &str) -> String {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 4);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if q != b'\'' && q != b'"' {
            i += 1;
            continue;
        }
        let end = string_end(bytes, i, q);
        out.push_str(&expr[copied..i]);
        let closed = end <= bytes.len() && end > i + 1 && bytes[end - 1] == q;
        let body = if closed {
            &expr[i + 1..end - 1]
        } else {
            &expr[i + 1..end]
        };
        out.push(q as char);
        for c in body.chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c == q as char {
                out.push('\\');
                out.push(c);
            } else {
                out.push(c);
            }
        }
        if closed {
            out.push(q as char);
        }
        i = end;
        copied = end;
    }
    out.push_str(&expr[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_constants_of_expressions_keep_their_backslashes() {
        assert_eq!(
            escape_in_template(r"{{ 'a\b' }} \n {{ x | regex_replace('(a)', '\1') }}"),
            r"{{ 'a\\b' }} \n {{ x | regex_replace('(a)', '\\1') }}"
        );
        assert_eq!(escape_in_template(r#"{{ "q\"x" }}"#), r#"{{ "q\\\"x" }}"#);
        assert_eq!(
            escape_in_template(r"{% set a = '\n' %}{{ '\n' }}{# '\n' #}"),
            r"{% set a = '\n' %}{{ '\\n' }}{# '\n' #}"
        );
        assert_eq!(
            escape_in_template(r"{% raw %}{{ '\n' }}{% endraw %}{{ '\t' }}"),
            r"{% raw %}{{ '\n' }}{% endraw %}{{ '\\t' }}"
        );
        assert_eq!(
            escape_in_template("no backslash {{ 'x' }}"),
            "no backslash {{ 'x' }}"
        );
        assert_eq!(escape_in_expression(r"x == 'a\b'"), r"x == 'a\\b'");
    }
}
