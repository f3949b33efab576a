//! Python's printf-style `%` on a string (`'%02d' % (idx + 1)`, `'%s-%s' % (a, b)`), which
//! Jinja2 evaluates and minijinja refuses ("tried to use % operator on unsupported types").
//! A template or expression that fails so is read again with each `'literal' % operand`
//! written as `('literal' | format(operand))` — a parenthesized tuple giving `format` its
//! items — and `format` is the same printf-style formatting. Templates that run are never
//! rewritten.

use super::backslashes::{bracket_end, string_end};

/// Whether `e` is minijinja's refusal of `%` on a string.
pub(super) fn is_refused(e: &minijinja::Error) -> bool {
    e.kind() == minijinja::ErrorKind::InvalidOperation
        && e.detail()
            .is_some_and(|d| d.contains("% operator on unsupported types string"))
}

/// `src` (a template) with its string-formatting `%`s rewritten; `None` when it has none.
pub(super) fn rewrite_template(src: &str) -> Option<String> {
    super::code_blocks::rewrite(src, rewrite_expression)
}

/// `expr` with each `'literal' % operand` written as `('literal' | format(...))`; `None`
/// when it has none.
pub(super) fn rewrite_expression(expr: &str) -> Option<String> {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\'' && b != b'"' {
            let len = expr[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&expr[i..i + len]);
            i += len;
            continue;
        }
        let end = string_end(bytes, i, b).min(bytes.len());
        let literal = &expr[i..end];
        let after = end + (expr[end..].len() - expr[end..].trim_start().len());
        let Some(rest) = expr[after..].strip_prefix('%') else {
            out.push_str(literal);
            i = end;
            continue;
        };
        let start = after + 1 + (rest.len() - rest.trim_start().len());
        let Some(len) = operand_len(&expr[start..]) else {
            out.push_str(literal);
            i = end;
            continue;
        };
        let operand = &expr[start..start + len];
        let args = match operand.strip_prefix('(').and_then(|o| o.strip_suffix(')')) {
            Some(inner) if top_level_comma(inner) => inner.trim().trim_end_matches(',').to_owned(),
            _ => operand.to_owned(),
        };
        out.push_str(&format!("({literal} | format({args}))"));
        changed = true;
        i = start + len;
    }
    changed.then_some(out)
}

/// The length of the operand at the start of `s`: a parenthesized expression, a string, or
/// a name or number with its attributes, subscripts and calls.
fn operand_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let first = *bytes.first()?;
    let mut i = match first {
        b'(' | b'[' => bracket_end(bytes, 0)?,
        b'\'' | b'"' => string_end(bytes, 0, first).min(bytes.len()),
        c if c.is_ascii_alphanumeric() || c == b'_' => {
            let mut j = 0;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'.'))
            {
                j += 1;
            }
            j
        }
        _ => return None,
    };
    // Trailing subscripts, calls and attributes (`x[0]`, `f(a)`, `a.b`).
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'(' => i = bracket_end(bytes, i)?,
            b'.' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    Some(i)
}

/// Whether `s` has a comma outside brackets and strings (a tuple's items).
fn top_level_comma(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = string_end(bytes, i, bytes[i]);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{rewrite_expression, rewrite_template};

    #[test]
    fn string_formatting_becomes_format() {
        for (expr, want) in [
            ("'%02d' % (idx + 1)", "('%02d' | format((idx + 1)))"),
            ("'%s-%s' % (a, b)", "('%s-%s' | format(a, b))"),
            ("x ~ '%d%%' % n", "x ~ ('%d%%' | format(n))"),
            ("\"%s\" % d['k'].v", "(\"%s\" | format(d['k'].v))"),
            ("'%s' % f(a, b)", "('%s' | format(f(a, b)))"),
            ("'%s' % 'x'", "('%s' | format('x'))"),
        ] {
            assert_eq!(rewrite_expression(expr).as_deref(), Some(want), "{expr}");
        }
        assert_eq!(
            rewrite_template("n{{ name }}{{ '%02d' % (i + 1) }}").as_deref(),
            Some("n{{ name }}{{ ('%02d' | format((i + 1))) }}")
        );
    }

    #[test]
    fn other_percents_stay() {
        for expr in ["7 % 2", "x % y", "'a % b'", "'%s'"] {
            assert_eq!(rewrite_expression(expr), None, "{expr}");
        }
    }
}
