//! A task result's detail: the fields of the registered result that say what ran and why it
//! failed, under Ansible's names (`cmd`, `rc`, `stdout`, `stderr`, `failed_when_result`,
//! `assertion`, `evaluated_to`, ...), and how they read as text.
//!
//! The agent picks them from the result (see [`of`]) and sends them with each task result;
//! the controller shows them (`-v`, `--format json`). The same text, with only the tail of
//! the output, is what a failure's message says (see [`lines`]).

use serde_json::{Map, Value as Json};

/// The keys taken from a registered result, in the order they are shown.
const RESULT_KEYS: &[&str] = &[
    "unreachable",
    "failed_when_result",
    "assertion",
    "evaluated_to",
    "cmd",
    "rc",
    "query",
    "url",
    "status",
    "stderr",
    "stdout",
    // `recovery_point`: the restored-to and incident times, for the journal's RPO.
    "rpo",
    // `until`/`retries`: how many attempts ran, for the drill report's findings.
    "attempts",
    // What the module or a test warned about: shown under the task's line.
    "warnings",
];

/// Keys of the detail kept for the journal and `--format json`, not shown as text by
/// [`lines`] (warnings are shown apart, whatever the verbosity).
const NOT_SHOWN: &[&str] = &["attempts", "warnings"];

/// Added by the engine (not result fields): the `failed_when` condition as written, and the
/// values of the variables a failed condition reads.
pub const FAILED_WHEN: &str = "failed_when";
/// See [`FAILED_WHEN`].
pub const VALUES: &str = "values";

/// The most of one output stream kept in a detail (its end: where errors are).
const MAX_OUTPUT: usize = 256 * 1024;

/// Lines of each output stream a failure's message shows.
pub const TAIL_LINES: usize = 10;

/// Longest line shown in a failure's message; the rest of a longer line is cut.
const MAX_LINE: usize = 400;

/// The detail of a registered result: the keys of [`RESULT_KEYS`] it has, output streams cut
/// to their last [`MAX_OUTPUT`] bytes.
pub fn of(result: &Map<String, Json>) -> Map<String, Json> {
    let mut detail = Map::new();
    for key in RESULT_KEYS {
        let Some(value) = result.get(*key) else {
            continue;
        };
        let value = match value {
            Json::String(s) if s.len() > MAX_OUTPUT => Json::from(cut_front(s, MAX_OUTPUT)),
            other => other.clone(),
        };
        detail.insert((*key).to_owned(), value);
    }
    detail
}

/// `s` without its beginning, so that at most `max` bytes remain, with a note of the cut.
fn cut_front(s: &str, max: usize) -> String {
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[{start} bytes cut]\n{}", &s[start..])
}

/// The detail as text lines: `key: value` for scalars, output streams as indented blocks
/// (their last `tail` lines, or all of them), then the values a condition read.
pub fn lines(detail: &Map<String, Json>, tail: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cond) = detail.get(FAILED_WHEN) {
        out.push(format!("failed_when: {}", scalar(cond)));
    }
    for key in RESULT_KEYS.iter().filter(|k| !NOT_SHOWN.contains(k)) {
        let Some(value) = detail.get(*key) else {
            continue;
        };
        match (*key, value) {
            ("stdout" | "stderr", Json::String(text)) => block(&mut out, key, text, tail),
            ("cmd", Json::Array(argv)) => {
                let words: Vec<String> = argv
                    .iter()
                    .map(|a| crate::template::shell_quote(&scalar(a)))
                    .collect();
                out.push(format!("cmd: {}", words.join(" ")));
            }
            (_, Json::String(s)) if s.contains('\n') => block(&mut out, key, s, tail),
            _ => out.push(format!("{key}: {}", shorten(&scalar(value)))),
        }
    }
    if let Some(Json::Object(values)) = detail.get(VALUES)
        && !values.is_empty()
    {
        out.push("with:".to_owned());
        for (name, value) in values {
            out.push(format!("  {name} = {}", shorten(&value.to_string())));
        }
    }
    out
}

/// `stderr:` and the text indented under it; nothing when the text is empty.
fn block(out: &mut Vec<String>, key: &str, text: &str, tail: Option<usize>) {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return;
    }
    let shown = match tail {
        Some(n) if all.len() > n => {
            out.push(format!("{key} (last {n} of {} lines):", all.len()));
            &all[all.len() - n..]
        }
        _ => {
            out.push(format!("{key}:"));
            &all[..]
        }
    };
    for line in shown {
        let line = if tail.is_some() {
            shorten(line)
        } else {
            (*line).to_owned()
        };
        out.push(format!("  {line}"));
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LINE {
        return s.to_owned();
    }
    let kept: String = s.chars().take(MAX_LINE).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn picks_the_result_fields_that_say_why() {
        let result = map(json!({
            "changed": true, "failed": true, "msg": "non-zero return code",
            "cmd": ["sh", "-c", "exit 1"], "rc": 1, "stdout": "out", "stderr": "err",
            "stdout_lines": ["out"], "start": "x", "delta": "y"
        }));
        let detail = of(&result);
        assert_eq!(
            Json::Object(detail.clone()),
            json!({"cmd": ["sh", "-c", "exit 1"], "rc": 1, "stdout": "out", "stderr": "err"})
        );
        assert_eq!(
            lines(&detail, Some(TAIL_LINES)),
            [
                "cmd: sh -c 'exit 1'",
                "rc: 1",
                "stderr:",
                "  err",
                "stdout:",
                "  out"
            ]
        );
    }

    #[test]
    fn long_output_keeps_its_end() {
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let detail = map(json!({"stderr": text.trim_end()}));
        let shown = lines(&detail, Some(3));
        assert_eq!(
            shown,
            [
                "stderr (last 3 of 30 lines):",
                "  line 28",
                "  line 29",
                "  line 30"
            ]
        );
        assert_eq!(lines(&detail, None).len(), 31);
        let huge = "x".repeat(MAX_OUTPUT + 10);
        let kept = of(&map(json!({"stdout": huge})));
        assert!(
            kept["stdout"]
                .as_str()
                .is_some_and(|s| s.starts_with("[10 bytes cut]\n") && s.len() < MAX_OUTPUT + 20)
        );
    }

    #[test]
    fn conditions_show_their_values() {
        let detail = map(json!({
            "failed_when": "r.rc > 0 and limit < 3",
            "failed_when_result": true,
            "values": {"r.rc": 2, "limit": 1}
        }));
        assert_eq!(
            lines(&detail, Some(TAIL_LINES)),
            [
                "failed_when: r.rc > 0 and limit < 3",
                "failed_when_result: true",
                "with:",
                "  r.rc = 2",
                "  limit = 1"
            ]
        );
    }
}
