//! The variables a condition reads (`r.rc`, `groups['db'][0]`, `limit`), so a failed
//! `failed_when` or `assert` can show what it saw.
//!
//! A small scanner over the expression's text, not a parser: it skips string literals,
//! keywords, filter and test names and called functions, and keeps each variable path as
//! written (attribute and index steps included). A path it cannot evaluate is left out.

use serde_json::{Map, Value as Json};

use crate::template::Scope;

/// At most this many values are shown for one condition.
const MAX_VALUES: usize = 8;

/// Words that are operators or literals, never variables.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
    "loop",
];

/// The values of the variables `expr` reads, keyed by their path as written, in order of
/// first appearance.
pub(super) fn values(scope: &Scope, expr: &str) -> Map<String, Json> {
    let mut out = Map::new();
    for path in paths(expr) {
        if out.len() >= MAX_VALUES {
            break;
        }
        if out.contains_key(&path) {
            continue;
        }
        if let Ok(value) = scope.eval(&path) {
            out.insert(path, value);
        }
    }
    out
}

/// The variable paths in `expr`, in order, with repeats.
fn paths(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The last significant token: a variable name after `|` is a filter, after `is` a test.
    let mut prev = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            i = skip_string(&chars, i);
            prev = "str".into();
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            prev = "num".into();
            continue;
        }
        if !(c.is_alphabetic() || c == '_') {
            if !c.is_whitespace() {
                prev = c.to_string();
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let after_dot = prev == ".";
        let is_name = !after_dot
            && prev != "|"
            && prev != "is"
            && prev != "not_after_is"
            && !KEYWORDS.contains(&word.as_str());
        if word == "not" && prev == "is" {
            prev = "not_after_is".into();
            continue;
        }
        if !is_name {
            prev = word;
            continue;
        }
        let mut path = word;
        i = extend_path(&chars, i, &mut path);
        prev = "name".into();
        if next_non_space(&chars, i) == Some('(') {
            continue;
        }
        out.push(path);
    }
    out
}

/// Follows `.name`, `[0]` and `['key']` steps after a name; returns where the path ends.
fn extend_path(chars: &[char], mut i: usize, path: &mut String) -> usize {
    loop {
        match chars.get(i) {
            Some('.')
                if chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphabetic() || *c == '_') =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                // `x.startswith(...)`: a method call; the path stops before it.
                if next_non_space(chars, i) == Some('(') {
                    return start;
                }
                path.extend(&chars[start..i]);
            }
            Some('[') => {
                let Some(close) = chars[i..].iter().position(|c| *c == ']') else {
                    return i;
                };
                let inner: String = chars[i + 1..i + close].iter().collect();
                let literal = inner.trim().parse::<i64>().is_ok()
                    || (inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"'))));
                if !literal {
                    return i;
                }
                path.extend(&chars[i..=i + close]);
                i += close + 1;
            }
            _ => return i,
        }
    }
}

fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<char> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    chars.get(i).copied()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_the_variables_a_condition_reads() {
        assert_eq!(
            paths("r.rc != 0 and 'ok' not in r.stdout"),
            ["r.rc", "r.stdout"]
        );
        assert_eq!(
            paths("(after.rows[0].n | int) >= before['rows'][0].n + 5"),
            ["after.rows[0].n", "before['rows'][0].n"]
        );
        assert_eq!(
            paths("x is defined and y is not none and z | default(1) > lookup('env', 'H')"),
            ["x", "y", "z"]
        );
        assert_eq!(
            paths("name.startswith('db') or items[i] == true"),
            ["name", "items", "i"]
        );
        assert_eq!(paths("\"a \\\" b\" == s"), ["s"]);
    }

    #[test]
    fn evaluates_each_once_and_skips_the_undefined() {
        let mut vars = Map::new();
        vars.insert("r".into(), json!({"rc": 2, "stdout": "boom"}));
        vars.insert("limit".into(), json!(1));
        let scope = crate::template::Templater::new().scope(vars);
        let v = values(&scope, "r.rc > limit and r.rc != nope and limit < 3");
        assert_eq!(Json::Object(v), json!({"r.rc": 2, "limit": 1}));
    }
}
