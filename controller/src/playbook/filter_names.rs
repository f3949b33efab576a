//! Filters and tests named in a task's templates are checked when the playbook is read: a
//! name the template environment does not have is refused with the task's location and the
//! closest known name, before anything runs. The known names come from the agent's template
//! environment itself, so this check and rendering always agree.

use std::sync::LazyLock;

use dr_agent::template::filter_names::{Kind, is_known, suggest};
use dr_agent::wire::{Condition, Task};
use regex::Regex;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Loc};

/// `map('name'`, `select('name'`, `reject('name'`: a filter or test named by a string.
static BY_STRING: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\b(map|select|reject)\(\s*['"]([A-Za-z_][\w.]*)['"]|\b(selectattr|rejectattr)\(\s*['"][^'"]*['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]"#,
    )
    .ok()
});

/// Refuses a filter or test dr does not have, anywhere in `task`'s templates.
pub fn check(task: &Task, loc: &Loc) -> Result<(), Diagnostic> {
    let templates = super::task_text::templated(task);
    let mut expressions: Vec<&str> = Vec::new();
    for t in templates {
        expressions.extend(regions(t));
    }
    // Bare expressions: conditions, `assert`'s `that` and `debug`'s `var`.
    let mut bare: Vec<&str> = Vec::new();
    let arg = |key: &str| task.args.get(key);
    match task.module.as_str() {
        "assert" => match arg("that") {
            Some(Value::String(s)) => bare.push(s),
            Some(Value::Array(items)) => bare.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        },
        "debug" => bare.extend(arg("var").and_then(Value::as_str)),
        _ => {}
    }
    let conditions = task
        .when
        .iter()
        .map(Condition::as_str)
        .chain(
            task.changed_when
                .iter()
                .chain(&task.failed_when)
                .chain(&task.until)
                .map(String::as_str),
        )
        .chain(bare);
    for c in conditions {
        if c.contains("{{") || c.contains("{%") {
            expressions.extend(regions(c));
        } else {
            expressions.push(c);
        }
    }
    for expr in expressions {
        for (kind, name) in names(expr) {
            if !is_known(kind, &name)
                && !crate::bridge::plugins::has(matches!(kind, Kind::Filter), &name)
            {
                return Err(refusal(kind, &name, loc));
            }
        }
    }
    Ok(())
}

fn refusal(kind: Kind, name: &str, loc: &Loc) -> Diagnostic {
    let what = match kind {
        Kind::Filter => "filter",
        Kind::Test => "test",
    };
    let d = Diagnostic::new(
        loc.clone(),
        format!("{what} `{name}` is not supported by dr"),
    );
    match suggest(kind, name) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help(format!(
            "dr has ansible.builtin's filters and tests, json_query and the ipaddr family; a {what} from a plugin directory or another collection cannot run"
        )),
    }
}

/// The insides of `{{ }}` and `{% %}` in a template, outside `{% raw %}` blocks and comments.
fn regions(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut raw = false;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else if after.starts_with("{#") {
            "#}"
        } else {
            rest = &rest[start + 1..];
            continue;
        };
        let body = &after[2..];
        let Some(end) = body.find(close) else {
            break;
        };
        let inner = &body[..end];
        let word = inner.trim().trim_matches('-').trim();
        if close == "%}" && word == "raw" {
            raw = true;
        } else if close == "%}" && word == "endraw" {
            raw = false;
        } else if !raw && close != "#}" {
            out.push(inner);
        }
        rest = &body[end + 2..];
    }
    out
}

/// The filters (`| name`) and tests (`is name`, `is not name`) an expression uses.
fn names(expr: &str) -> Vec<(Kind, String)> {
    let mut found = Vec::new();
    if let Some(re) = BY_STRING.as_ref() {
        for cap in re.captures_iter(expr) {
            match (cap.get(1), cap.get(2), cap.get(4)) {
                (Some(f), Some(n), _) if f.as_str() == "map" => {
                    found.push((Kind::Filter, n.as_str().to_owned()))
                }
                (Some(_), Some(n), _) | (None, None, Some(n)) => {
                    found.push((Kind::Test, n.as_str().to_owned()))
                }
                _ => {}
            }
        }
    }
    let words = tokens(expr);
    for (i, w) in words.iter().enumerate() {
        match w.as_str() {
            "|" => {
                if let Some(n) = words.get(i + 1).filter(|n| is_name(n)) {
                    found.push((Kind::Filter, n.clone()));
                }
            }
            "is" => {
                let mut j = i + 1;
                if words.get(j).is_some_and(|n| n == "not") {
                    j += 1;
                }
                if let Some(n) = words.get(j).filter(|n| is_name(n)) {
                    found.push((Kind::Test, n.clone()));
                }
            }
            _ => {}
        }
    }
    found
}

fn is_name(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Names (dotted), `|`, and other punctuation, with string literals dropped.
fn tokens(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
                out.push("''".to_owned());
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut w = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' || d == '.' {
                        w.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(w.trim_end_matches('.').to_owned());
            }
            c if c.is_whitespace() => {}
            c => out.push(c.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(expr: &str) -> Vec<(Kind, String)> {
        names(expr)
    }

    #[test]
    fn finds_filters_and_tests_outside_strings() {
        assert_eq!(
            found("x | default('a | b') | ansible.builtin.to_json"),
            vec![
                (Kind::Filter, "default".to_owned()),
                (Kind::Filter, "ansible.builtin.to_json".to_owned())
            ]
        );
        assert_eq!(
            found("r is not failed and 'x is y' in s"),
            vec![(Kind::Test, "failed".to_owned())]
        );
        assert_eq!(
            found("l | map('upper') | select('match', 'x') | list"),
            vec![
                (Kind::Filter, "upper".to_owned()),
                (Kind::Test, "match".to_owned()),
                (Kind::Filter, "map".to_owned()),
                (Kind::Filter, "select".to_owned()),
                (Kind::Filter, "list".to_owned())
            ]
        );
    }

    #[test]
    fn regions_skip_raw_and_comments() {
        assert_eq!(
            regions("a {{ x | f }} {# y | g #} {% raw %}{{ z | h }}{% endraw %} {% if q is t %}"),
            vec![" x | f ", " if q is t "]
        );
    }
}
