//! Whether a condition reads a variable only through a guard: a `defined`/`undefined` test
//! or a `default`/`mandatory` filter, right after the variable (and any attributes or
//! indexes of it). Ansible 2.19 lets an undefined variable through those and fails every
//! other use of it; the scope asks this about a name the condition looked up and did not
//! find (so a branch never evaluated is never asked about).

/// The code of template `s`: what its `{{ ... }}` and `{% ... %}` blocks hold, one block per
/// line (the text around them, and comments, are not code).
pub(super) fn code_of(s: &str) -> String {
    let mut code = String::new();
    let mut rest = s;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let Some(end) = block_end(body, close) else {
            code.push_str(body);
            break;
        };
        code.push_str(body[..end].trim_matches(['-', '+']));
        code.push('\n');
        rest = &body[end + close.len()..];
    }
    code
}

/// Where the block `body` starts ends: its first `close` outside string literals (a
/// template in a string, `lookup('x', '{{ y }}')`, is the string's).
fn block_end(body: &str, close: &str) -> Option<usize> {
    code_chars(body)
        .map(|(i, _)| i)
        .find(|&i| body[i..].starts_with(close))
        .or_else(|| body.find(close))
}

/// The characters of `s` outside string literals (their quotes are the literal's), with
/// their byte offsets.
fn code_chars(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    s.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return false;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            return false;
        }
        true
    })
}

/// Whether `expr` uses `name` as a variable at least once, and never through a guard.
/// `name` may be an attribute path (`known.zz`): a use is the variable followed by each
/// attribute, as `.zz` or `['zz']`, and not called (`known.get(...)` is a method).
pub(super) fn unguarded(expr: &str, name: &str) -> bool {
    let mut parts = name.split('.');
    let head = parts.next().unwrap_or(name);
    let attrs: Vec<&str> = parts.collect();
    let uses: Vec<(usize, usize)> = occurrences(expr, head)
        .into_iter()
        .filter_map(|end| Some((end - head.len(), attributes_end(expr, end, &attrs)?)))
        .collect();
    !uses.is_empty()
        && uses
            .iter()
            .all(|&(start, end)| !guarded(&expr[end..]) && !filter_argument(expr, start, end))
}

/// Filters that are given undefined arguments (Ansible's `accept_args_markers`): every other
/// filter given one is not called, and its result is that undefined value.
const TAKE_UNDEFINED: &[&str] = &["default", "d", "mandatory", "ternary"];

/// Whether the use `expr[start..end]` is a whole argument of a filter call that passes an
/// undefined argument on as its result (`'k' | extract(nope)`), and what follows that call
/// (or the parentheses that hold only its chain, `('k' | extract(nope)).a`) is a guard.
fn filter_argument(expr: &str, start: usize, end: usize) -> bool {
    let after = expr[end..].trim_start();
    let before = expr[..start].trim_end();
    let whole = (after.starts_with(',') || after.starts_with(')'))
        && (before.ends_with('(') || before.ends_with(',') || keyword_value(before));
    if !whole {
        return false;
    }
    let opens = open_brackets(expr, start);
    let Some(&(open, '(')) = opens.last() else {
        return false;
    };
    let Some(filter) = filter_called(&expr[..open]) else {
        return false;
    };
    match strip_builtin(filter) {
        // It reads only the value it chooses, and fails when that one is undefined.
        "ternary" => return true,
        f if TAKE_UNDEFINED.contains(&f) => return false,
        _ => {}
    }
    let Some(close) = closing(&expr[open..], '(', ')').map(|c| open + c) else {
        return false;
    };
    let rest = &expr[close + 1..];
    if guarded(rest) {
        return true;
    }
    // `(<value> | f(nope))` then a guard: the parentheses hold the undefined result.
    if !rest.trim_start().starts_with(')') || opens.len() < 2 {
        return false;
    }
    let (group, kind) = opens[opens.len() - 2];
    let chain_start = expr[..open].rfind('|').unwrap_or(open);
    if kind != '('
        || expr[..group]
            .trim_end()
            .ends_with(|c: char| c.is_alphanumeric() || c == '_')
        || !plain_value(&expr[group + 1..chain_start])
    {
        return false;
    }
    let Some(group_close) = closing(&expr[group..], '(', ')').map(|c| group + c) else {
        return false;
    };
    guarded(&expr[group_close + 1..])
}

/// Whether `before` ends with `name=`, a keyword argument's name.
fn keyword_value(before: &str) -> bool {
    before.strip_suffix('=').is_some_and(|b| {
        !b.ends_with(['=', '!', '<', '>'])
            && b.trim_end()
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The filter whose call `text` ends with the name of (`... | extract` before its `(`).
fn filter_called(text: &str) -> Option<&str> {
    let text = text.trim_end();
    let name_start = text
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    let name = &text[name_start..];
    (!name.is_empty() && text[..name_start].trim_end().ends_with('|')).then_some(name)
}

/// The brackets open at byte `at` of `expr`, outermost first (string literals skipped).
fn open_brackets(expr: &str, at: usize) -> Vec<(usize, char)> {
    let mut open = Vec::new();
    for (i, c) in code_chars(&expr[..at]) {
        match c {
            '(' | '[' | '{' => open.push((i, c)),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open
}

/// Whether `text` is a value and filters only (no operator, keyword or call outside string
/// literals and brackets): what a chain of filters starts from.
fn plain_value(text: &str) -> bool {
    let mut depth = 0usize;
    let mut outside = String::new();
    for (_, c) in code_chars(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    let value = !outside.trim().is_empty() || text.trim().starts_with(['\'', '"', '[', '{']);
    value
        && !outside.contains(['+', '-', '*', '/', '%', '~', '<', '>', '=', '!'])
        && !outside
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| matches!(w, "and" | "or" | "not" | "in" | "is" | "if" | "else"))
}

/// Where the attributes `attrs` end when they follow `expr[..at]` in order (`.a`, `['a']`,
/// `["a"]`), unless the last one is called.
fn attributes_end(expr: &str, at: usize, attrs: &[&str]) -> Option<usize> {
    let mut at = at;
    for attr in attrs {
        let rest = &expr[at..];
        let trimmed = rest.trim_start();
        let skipped = rest.len() - trimmed.len();
        let len = if let Some(r) = trimmed.strip_prefix('.') {
            let r2 = r.trim_start();
            let name_len = r2
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(r2.len());
            (&r2[..name_len] == *attr).then_some(1 + (r.len() - r2.len()) + name_len)?
        } else if let Some(r) = trimmed.strip_prefix('[') {
            let r2 = r.trim_start();
            let quote = r2.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = r2[1..].strip_prefix(attr)?.strip_prefix(quote)?;
            let inner2 = inner.trim_start().strip_prefix(']')?;
            trimmed.len() - inner2.len()
        } else {
            return None;
        };
        at += skipped + len;
    }
    if !attrs.is_empty() && expr[at..].trim_start().starts_with('(') {
        None
    } else {
        Some(at)
    }
}

/// Byte offsets just past each use of `name` as a variable (outside string literals, not an
/// attribute `x.name`, not a call `name(...)`).
fn occurrences(expr: &str, name: &str) -> Vec<usize> {
    let bytes = expr.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            i += 1;
            continue;
        }
        if ident(b) {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            let before = expr[..start].trim_end();
            let after = expr[i..].trim_start();
            if &expr[start..i] == name && !before.ends_with('.') && !after.starts_with('(') {
                found.push(i);
            }
            continue;
        }
        i += 1;
    }
    found
}

/// Whether the text after a use of a variable starts with its attributes or indexes, then a
/// guard.
fn guarded(rest: &str) -> bool {
    let mut rest = rest.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            let len = r
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(r.len());
            rest = r[len..].trim_start();
        } else if rest.starts_with('[') {
            let Some(close) = closing(rest, '[', ']') else {
                return false;
            };
            rest = rest[close + 1..].trim_start();
        } else {
            break;
        }
    }
    // Filters in between pass the undefined value on (`nope | upper | default('x')`).
    while let Some(r) = rest.strip_prefix('|') {
        let r = strip_builtin(r.trim_start());
        if word(r, "default") || word(r, "d") || word(r, "mandatory") {
            return true;
        }
        let len = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(r.len());
        rest = r[len..].trim_start();
        if rest.starts_with('(') {
            let Some(close) = closing(rest, '(', ')') else {
                return false;
            };
            rest = rest[close + 1..].trim_start();
        }
    }
    if let Some(r) = rest.strip_prefix("is") {
        let r = r.trim_start();
        let r = r.strip_prefix("not").map_or(r, str::trim_start);
        let r = strip_builtin(r);
        return word(r, "defined") || word(r, "undefined");
    }
    false
}

fn strip_builtin(s: &str) -> &str {
    s.strip_prefix("ansible.builtin.")
        .or_else(|| s.strip_prefix("ansible.legacy."))
        .unwrap_or(s)
}

/// Whether `s` starts with the whole word `w`.
fn word(s: &str, w: &str) -> bool {
    s.strip_prefix(w)
        .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

/// The index of the `close` matching the `open` `s` starts with (string literals skipped).
pub(super) fn closing(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code_chars(s) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{code_of, unguarded};

    #[test]
    fn the_code_of_a_template_is_its_blocks() {
        assert_eq!(
            code_of("port = {{ port }}\n{% if tls -%}x{%- endif %}{# port #}"),
            " port \n if tls \n endif \n"
        );
        assert!(!unguarded(&code_of("port {{ port | default(1) }}"), "port"));
        assert_eq!(
            code_of("{{ lookup('x', '{{ nope }}')[1] }} {{ y }}"),
            " lookup('x', '{{ nope }}')[1] \n y \n"
        );
        assert!(!unguarded(
            &code_of("{{ lookup('x', '{{ nope }}') }}"),
            "nope"
        ));
    }

    #[test]
    fn uses_through_a_test_or_default_are_guarded() {
        for expr in [
            "nope is defined",
            "nope is not defined or nope == ''",
            "nope.a['b'].c is undefined",
            "(nope | default('x')) == 'x'",
            "nope|d(1) > 0",
            "nope | ansible.builtin.default({}) | length == 0",
            "nope | mandatory",
            "nope | upper | default('x') == 'x'",
            "nope | replace('a', 'b') | ansible.builtin.d('') is string",
            "nope | upper is defined",
            "'nope' == 'x'",
            "other.nope == 1",
            "nope(1)",
            "'key' | extract(nope) | default('a') == 'a'",
            "'key' | extract(nope, 'subkey') | default('a') == 'a'",
            "('key' | extract(nope)).subkey | default('a') == 'a'",
            "x | combine(nope, recursive=true) is undefined",
            "x | regex_replace('a', repl=nope) | default('') == ''",
            "(false | ternary(nope, 'seven')) == 'seven'",
        ] {
            assert!(!unguarded(expr, "nope"), "{expr}");
        }
    }

    #[test]
    fn attribute_paths_are_uses_of_that_attribute_only() {
        for expr in [
            "known.zz == 1",
            "known['zz'] ~ 'x'",
            "known [ \"zz\" ] | upper == ''",
            "known.zz.yy == 1",
            "not known . zz",
        ] {
            assert!(unguarded(expr, "known.zz"), "{expr}");
        }
        for expr in [
            "known.zz is defined",
            "known.zz.yy is undefined",
            "known['zz'] | default(1) == 1",
            "known.zzz == 1",
            "known.a == 1",
            "'zz' in known",
            "known.get('zz', 1) == 1",
            "known[key] == 1",
            "other.known.zz == 1",
        ] {
            assert!(!unguarded(expr, "known.zz"), "{expr}");
        }
    }

    #[test]
    fn other_uses_are_not() {
        for expr in [
            "nope == 'x'",
            "not nope",
            "'a' in nope",
            "nope.a == 1",
            "nope['x'] is string",
            "x is defined and nope == 1",
            "nope ~ 'is defined'",
            "nope | upper == ''",
            "nope | replace('|', 'default') == ''",
            "'key' | extract(nope) == 'a'",
            "'key' | extract(nope + 1) | default('a')",
            "'key' | extract(nope) ~ 'x' | default('a')",
            "(x ~ 'key' | extract(nope)).a | default('a')",
            "f('key' | extract(nope)) | default('a')",
        ] {
            assert!(unguarded(expr, "nope"), "{expr}");
        }
    }
}
