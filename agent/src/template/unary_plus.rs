//! Jinja's unary plus (`{{ +2.5 }}`, `x * +1`), which minijinja's parser lacks. A template
//! or expression that fails to parse is read again with each unary `+` written as a double
//! negation (`- -2.5`): the same number for ints and floats, and an error for what Python's
//! `+` refuses too (strings, lists). Templates that parse are never rewritten.

use super::backslashes::string_end;

/// `src` (a template) with the unary pluses of its `{{ }}` and `{% %}` blocks rewritten;
/// `None` when it has none.
pub(super) fn rewrite_template(src: &str) -> Option<String> {
    super::code_blocks::rewrite(src, rewrite_expression)
}

/// `expr` with each unary `+` (one that follows no operand) written as `- -`; `None` when
/// it has none.
pub(super) fn rewrite_expression(expr: &str) -> Option<String> {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 4);
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'"' {
            let end = string_end(bytes, i, b).min(bytes.len());
            out.push_str(&expr[i..end]);
            i = end;
            continue;
        }
        if b == b'+' && follows_no_operand(&out) {
            out.push_str("- -");
            changed = true;
            i += 1;
            continue;
        }
        let len = expr[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&expr[i..i + len]);
        i += len;
    }
    changed.then_some(out)
}

/// Whether the code written so far ends where an operand is expected: at the start, after
/// an opening bracket, a comma, a colon, an operator, or an operator keyword.
fn follows_no_operand(before: &str) -> bool {
    let t = before.trim_end();
    let Some(last) = t.chars().next_back() else {
        return true;
    };
    if "([{,:+-*/%~<>=!".contains(last) {
        return true;
    }
    let word_start = t
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = &t[word_start..];
    let attribute = t[..word_start].ends_with('.');
    !attribute && matches!(word, "and" | "or" | "not" | "in" | "if" | "else" | "is")
}

#[cfg(test)]
mod tests {
    use super::{rewrite_expression, rewrite_template};

    #[test]
    fn unary_pluses_become_double_negations() {
        assert_eq!(rewrite_expression("+2.5").as_deref(), Some("- -2.5"));
        assert_eq!(rewrite_expression("x * +1").as_deref(), Some("x * - -1"));
        assert_eq!(
            rewrite_expression("[+1, (+x)]").as_deref(),
            Some("[- -1, (- -x)]")
        );
        assert_eq!(
            rewrite_expression("a if not +b else +c").as_deref(),
            Some("a if not - -b else - -c")
        );
        assert_eq!(
            rewrite_template("v={{ +2.5 }} {%+ if x > +1 %}y{% endif %}").as_deref(),
            Some("v={{ - -2.5 }} {%+ if x > - -1 %}y{% endif %}")
        );
    }

    #[test]
    fn binary_pluses_strings_and_raw_text_stay() {
        for expr in [
            "1 + 2", "x+y", "'+1' ~ a", "f(a) + 1", "l[0] + 1", "x.in + 1",
        ] {
            assert_eq!(rewrite_expression(expr), None, "{expr}");
        }
        for t in [
            "+1 {{ a + b }}",
            "{% raw %}{{ +1 }}{% endraw %}",
            "{{ '+' }}",
        ] {
            assert_eq!(rewrite_template(t), None, "{t}");
        }
    }
}
