//! Which lookup made a template's value undefined, in Ansible 2.19's words. minijinja
//! only says "undefined"; when no variable is missing, the cause is an attribute or item
//! the object lacks, and Ansible names it: `d.x` and `d['x']` on a mapping without `x`
//! are `object of type 'dict' has no attribute 'x'`, `foo[3]` on a shorter list `object
//! of type 'list' has no attribute 3`, and a lookup by a false key (`foo[0]`) keeps
//! Jinja's own words, `list object has no element 0` (for a list from the variables,
//! Ansible's lazy container type instead of `list`).
//!
//! The template's lookup chains (`name`, a literal or a parenthesised group, then `.attr`
//! and `[expr]` steps) are evaluated step by step; the first step whose object is defined
//! and whose result is not is the one named.

use minijinja::Value;
use minijinja::value::ValueKind;

use super::filters::type_name;
use super::pyrepr::python_repr;

/// The object types Ansible 2.19 gives the lists and mappings of the variables.
const LAZY_LIST: &str = "ansible._internal._templating._lazy_containers._AnsibleLazyTemplateList";
const LAZY_DICT: &str = "ansible._internal._templating._lazy_containers._AnsibleLazyTemplateDict";

/// Names that are not variables where a chain could start.
const KEYWORDS: [&str; 13] = [
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
];

/// One step of a chain: its text (`.x`, `[0]`) and the key it looks up (an attribute
/// name, or the expression inside the brackets).
struct Step<'a> {
    text: &'a str,
    key: Key<'a>,
}

enum Key<'a> {
    Attr(&'a str),
    Item(&'a str),
}

/// Jinja's message for the first lookup in `src` (an expression when `is_expr`, else a
/// template) that gives nothing from a defined object. `eval` evaluates an expression
/// (`None` when it fails); `is_lazy` tells a list or mapping of the variables.
pub(super) fn explain(
    src: &str,
    is_expr: bool,
    mut eval: impl FnMut(&str) -> Option<Value>,
    is_lazy: impl Fn(&Value) -> bool,
) -> Option<String> {
    let regions = if is_expr {
        vec![src]
    } else {
        expression_regions(src)
    };
    for region in regions {
        for (base, steps) in chains(region) {
            if let Some(msg) = first_failure(base, &steps, &mut eval, &is_lazy) {
                return Some(msg);
            }
        }
    }
    None
}

/// The message of the first step of a chain that fails.
fn first_failure(
    base: &str,
    steps: &[Step<'_>],
    eval: &mut impl FnMut(&str) -> Option<Value>,
    is_lazy: &impl Fn(&Value) -> bool,
) -> Option<String> {
    // Evaluating again must not call a lookup (`pipe` runs a command).
    let all = format!("{base}{}", steps.iter().map(|s| s.text).collect::<String>());
    if ["lookup", "query", "q("].iter().any(|w| all.contains(w)) {
        return None;
    }
    let mut prefix = base.to_owned();
    let mut object = eval(&prefix).filter(|v| !v.is_undefined())?;
    for step in steps {
        let key = match step.key {
            Key::Attr(name) => Value::from(name),
            Key::Item(expr) if has_top_level_colon(expr) => return None,
            Key::Item(expr) => eval(expr).filter(|v| !v.is_undefined())?,
        };
        prefix.push_str(step.text);
        match eval(&prefix) {
            Some(v) if !v.is_undefined() => object = v,
            Some(_) => return Some(message(&object, &key, is_lazy(&object))),
            None => return None,
        }
    }
    None
}

/// Ansible's words for `key` missing from `object`: its own for a true key, Jinja's for
/// a false one (`0`, `''`), which Ansible does not replace.
fn message(object: &Value, key: &Value, lazy: bool) -> String {
    if key.is_true() {
        return format!(
            "object of type '{}' has no attribute {}",
            type_name(object),
            python_repr(key)
        );
    }
    let type_repr = match object.kind() {
        ValueKind::None => "None".to_owned(),
        ValueKind::Seq if lazy => format!("{LAZY_LIST} object"),
        ValueKind::Map if lazy => format!("{LAZY_DICT} object"),
        _ => format!("{} object", type_name(object)),
    };
    if key.kind() == ValueKind::String {
        format!("'{type_repr}' has no attribute {}", python_repr(key))
    } else {
        format!("{type_repr} has no element {}", python_repr(key))
    }
}

/// The text inside a template's `{{ }}` and `{% %}` tags.
fn expression_regions(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The index just past the string literal starting at `start`.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            c if c == quote => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether a bracket's content is a slice (`1:3`), which is never undefined.
fn has_top_level_colon(expr: &str) -> bool {
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b':' => return true,
            b'\'' | b'"' => match string_end(b, i) {
                Some(end) => i = end - 1,
                None => return false,
            },
            b'(' | b'[' | b'{' => match super::backslashes::bracket_end(b, i) {
                Some(end) => i = end - 1,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    false
}

/// Every lookup chain of an expression, in the order they start: a base (a name, a
/// string or list literal, a parenthesised group) and at least one step after it.
fn chains(expr: &str) -> Vec<(&str, Vec<Step<'_>>)> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let before = expr[..i].trim_end().as_bytes().last().copied();
        let base_end = if c == b'\'' || c == b'"' {
            string_end(b, i)
        } else if is_ident_start(c) && !before.is_some_and(|p| is_ident(p) || p == b'.') {
            let end = (i..b.len()).find(|&j| !is_ident(b[j])).unwrap_or(b.len());
            (!KEYWORDS.contains(&&expr[i..end])).then_some(end)
        } else if (c == b'(' || c == b'[')
            && !before.is_some_and(|p| is_ident(p) || p == b')' || p == b']')
        {
            super::backslashes::bracket_end(b, i)
        } else {
            None
        };
        let Some(end) = base_end else {
            i += 1;
            continue;
        };
        let steps = steps(expr, end);
        if !steps.is_empty() {
            out.push((&expr[i..end], steps));
        }
        // A string is skipped whole; inside a group or a name, later chains start.
        i = if c == b'\'' || c == b'"' {
            end
        } else if is_ident_start(c) {
            (i..b.len()).find(|&j| !is_ident(b[j])).unwrap_or(b.len())
        } else {
            i + 1
        };
    }
    out
}

/// The `.attr` and `[expr]` steps from `at`, up to a call or anything else.
fn steps(expr: &str, mut at: usize) -> Vec<Step<'_>> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    while at < b.len() {
        match b[at] {
            b'.' if b.get(at + 1).is_some_and(|c| is_ident(*c)) => {
                let end = (at + 1..b.len())
                    .find(|&j| !is_ident(b[j]))
                    .unwrap_or(b.len());
                let name = &expr[at + 1..end];
                let key = if name.bytes().all(|c| c.is_ascii_digit()) {
                    Key::Item(name)
                } else {
                    Key::Attr(name)
                };
                out.push(Step {
                    text: &expr[at..end],
                    key,
                });
                at = end;
            }
            b'[' => {
                let Some(end) = super::backslashes::bracket_end(b, at) else {
                    break;
                };
                out.push(Step {
                    text: &expr[at..end],
                    key: Key::Item(&expr[at + 1..end - 1]),
                });
                at = end;
            }
            _ => break,
        }
    }
    // A step followed by a call is a method (`d.items()`), not a lookup.
    if b.get(at) == Some(&b'(') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::Environment;

    fn explain_with(src: &str, is_expr: bool, vars: serde_json::Value) -> Option<String> {
        let env = Environment::new();
        let ctx = Value::from(minijinja::value::Serde(vars));
        explain(
            src,
            is_expr,
            |e| env.compile_expression(e).ok()?.eval(ctx.clone()).ok(),
            |_| false,
        )
    }

    #[test]
    fn the_first_failed_lookup_in_ansibles_words() {
        let vars = serde_json::json!({"foo": [], "d": {"a": [1]}, "s": "abc"});
        let cases = [
            ("foo[0]", "list object has no element 0"),
            ("d['x']", "object of type 'dict' has no attribute 'x'"),
            ("d.x", "object of type 'dict' has no attribute 'x'"),
            ("d.a[3]", "object of type 'list' has no attribute 3"),
            ("d.a.x", "object of type 'list' has no attribute 'x'"),
            ("[][0]", "list object has no element 0"),
            ("(foo | list)[0]", "list object has no element 0"),
            ("'abc'[7]", "object of type 'str' has no attribute 7"),
            ("d['']", "'dict object' has no attribute ''"),
            ("'x' ~ d[s]", "object of type 'dict' has no attribute 'abc'"),
        ];
        for (src, want) in cases {
            assert_eq!(
                explain_with(src, true, vars.clone()).as_deref(),
                Some(want),
                "{src}"
            );
        }
        assert_eq!(
            explain_with("x {{ foo[0] }} y", false, vars.clone()).as_deref(),
            Some("list object has no element 0")
        );
        // A missing name, a slice, a method call, a lookup: not a failed lookup here.
        for src in [
            "nope[0]",
            "foo[1:]",
            "d.items()",
            "lookup('pipe', 'x')[0]",
            "foo",
        ] {
            assert_eq!(explain_with(src, true, vars.clone()), None, "{src}");
        }
    }

    #[test]
    fn a_list_of_the_variables_is_ansibles_lazy_list() {
        assert_eq!(
            message(&Value::from(Vec::<i32>::new()), &Value::from(0), true),
            format!("{LAZY_LIST} object has no element 0")
        );
    }
}
