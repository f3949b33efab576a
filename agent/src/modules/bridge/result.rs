//! A module's printed result, as dr's outcome: `changed`, `failed` (or a non-zero `rc`
//! without `failed`, as Ansible's task executor decides), `skipped`, `msg`, Ansible's
//! `diff` dicts as unified diffs, `ansible_facts` as facts, warnings shown, and every
//! other key registered as the module returned it.

use std::process::Output;

use serde_json::{Map, Value as Json};

use crate::diff;
use crate::modules::Outcome;
use crate::wire::Diff;

/// The outcome of a module run that printed `output`; `current_facts` is the host's
/// `ansible_facts` before it (module facts are merged into them).
pub(super) fn outcome(module: &str, output: &Output, current_facts: Option<&Json>) -> Outcome {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let Some(mut result) = json_object(&stdout) else {
        return unparsed(module, output, &stdout, &stderr);
    };
    result.retain(|k, _| !k.starts_with("_ansible_"));
    let mut outcome = Outcome {
        changed: result.remove("changed").is_some_and(|v| truthy(&v)),
        ..Outcome::default()
    };
    outcome.failed = match result.remove("failed") {
        Some(v) => truthy(&v),
        // As Ansible: a result without `failed` failed when its `rc` is not 0.
        None => result
            .get("rc")
            .is_some_and(|rc| !matches!(rc.as_i64(), Some(0)) && rc.as_str() != Some("0")),
    };
    outcome.skipped = result.get("skipped").is_some_and(truthy);
    outcome.msg = match result.get("msg") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    // Registered as returned (an empty `msg` too), but not the module's echo of its
    // arguments, which Ansible leaves out of the result.
    result.remove("invocation");
    if let Some(d) = result.remove("diff") {
        outcome.diffs = diffs(module, &d);
    }
    if let Some(Json::Object(facts)) = result.get("ansible_facts") {
        outcome.facts = facts_of(facts, current_facts);
    }
    for (key, label) in [
        ("warnings", "WARNING"),
        ("deprecations", "DEPRECATION WARNING"),
    ] {
        if let Some(Json::Array(items)) = result.get(key) {
            for item in items {
                let text = match item {
                    Json::String(s) => s.clone(),
                    Json::Object(m) => m
                        .get("msg")
                        .and_then(Json::as_str)
                        .map_or_else(|| item.to_string(), str::to_owned),
                    other => other.to_string(),
                };
                outcome.messages.push(format!("[{label}]: {text}"));
            }
        }
    }
    // As Ansible's `_execute_module`: text output also comes split into lines.
    for (key, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if let Some(text) = result.get(key)
            && !result.contains_key(lines)
        {
            let text = text.as_str().unwrap_or_default();
            let split: Vec<Json> = text.lines().map(Json::from).collect();
            result.insert(lines.into(), Json::Array(split));
        }
    }
    outcome.data = result;
    outcome
}

/// Ansible's `_filter_non_json_lines`: the JSON object between the first line starting
/// with `{` and the last line ending with `}` (a module may print noise around it).
fn json_object(stdout: &str) -> Option<Map<String, Json>> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().position(|l| l.trim_start().starts_with('{'))?;
    let end = lines.iter().rposition(|l| l.trim_end().ends_with('}'))?;
    if end < start {
        return None;
    }
    match serde_json::from_str(&lines[start..=end].join("\n")) {
        Ok(Json::Object(map)) => Some(map),
        _ => None,
    }
}

/// A run that printed no result: the process's own output, for the operator.
fn unparsed(module: &str, output: &Output, stdout: &str, stderr: &str) -> Outcome {
    let rc = output.status.code();
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let mut outcome = Outcome::failed(format!(
        "module `{module}` printed no result (exit {}){}",
        rc.map_or_else(|| "by a signal".to_owned(), |c| c.to_string()),
        if last.is_empty() {
            String::new()
        } else {
            format!(": {last}")
        }
    ));
    outcome
        .data
        .insert("module_stdout".into(), Json::from(stdout.to_owned()));
    outcome
        .data
        .insert("module_stderr".into(), Json::from(stderr.to_owned()));
    if let Some(rc) = rc {
        outcome.data.insert("rc".into(), Json::from(rc));
    }
    outcome
}

/// Ansible's truthiness of a result flag.
fn truthy(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t"
        ),
        _ => false,
    }
}

/// Ansible's `diff` (one dict or a list of them) as dr's diffs, the way Ansible's callback
/// prints them: `before`/`after` as a unified diff (mappings serialized first), `prepared`
/// as it is, binary or oversized files as a one-line note.
fn diffs(module: &str, value: &Json) -> Vec<Diff> {
    let list: Vec<&Json> = match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for d in list {
        let Json::Object(d) = d else { continue };
        let header = |k: &str| d.get(k).and_then(Json::as_str).map(str::to_owned);
        let target = header("before_header")
            .or_else(|| header("after_header"))
            .unwrap_or_else(|| module.to_owned());
        for (key, note) in [
            (
                "dst_binary",
                "diff skipped: destination file appears to be binary",
            ),
            (
                "src_binary",
                "diff skipped: source file appears to be binary",
            ),
            ("dst_larger", "diff skipped: destination file is too large"),
            ("src_larger", "diff skipped: source file is too large"),
        ] {
            if d.contains_key(key) {
                out.push(Diff {
                    target: target.clone(),
                    text: note.to_owned(),
                });
            }
        }
        if let (Some(before), Some(after)) = (d.get("before"), d.get("after")) {
            let (before, after) = (side(before), side(after));
            if before != after {
                out.push(diff::unified(&target, &before, &after));
            }
        }
        if let Some(Json::String(prepared)) = d.get("prepared") {
            out.push(Diff {
                target,
                text: prepared.clone(),
            });
        }
    }
    out
}

/// One side of a diff as text: mappings as Ansible serializes them (sorted keys, indent 4).
fn side(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Object(m) => {
            let sorted: std::collections::BTreeMap<&String, &Json> = m.iter().collect();
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            match serde::Serialize::serialize(&sorted, &mut ser) {
                Ok(()) => format!("{}\n", String::from_utf8_lossy(&buf)),
                Err(_) => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// The module's facts as host variables, as Ansible sets them: each under its own name,
/// and merged into `ansible_facts` without an `ansible_` prefix.
fn facts_of(facts: &Map<String, Json>, current: Option<&Json>) -> Map<String, Json> {
    let mut all = match current {
        Some(Json::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut out = Map::new();
    for (k, v) in facts {
        out.insert(k.clone(), v.clone());
        all.insert(
            k.strip_prefix("ansible_").unwrap_or(k).to_owned(),
            v.clone(),
        );
    }
    out.insert("ansible_facts".into(), Json::Object(all));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::process::ExitStatusExt;

    fn output(stdout: &str, stderr: &str, code: i32) -> Output {
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_result_maps_to_an_outcome() {
        let printed = json!({
            "changed": true, "msg": "1 replacements made", "rc": 0,
            "diff": {"before_header": "/f", "before": "a\nb\n", "after_header": "/f", "after": "a\nc\n"},
            "invocation": {"module_args": {"path": "/f"}},
            "_ansible_no_log": false,
        });
        let o = outcome(
            "replace",
            &output(&format!("noise\n{printed}\n"), "", 0),
            None,
        );
        assert!(o.changed && !o.failed && !o.skipped);
        assert_eq!(o.msg, "1 replacements made");
        assert_eq!(o.diffs.len(), 1);
        assert_eq!(o.diffs[0].target, "/f");
        assert!(o.diffs[0].text.contains("-b\n+c\n"), "{}", o.diffs[0].text);
        assert!(!o.data.contains_key("invocation") && !o.data.contains_key("_ansible_no_log"));
        assert_eq!(o.data["msg"], json!("1 replacements made"));
    }

    #[test]
    fn rc_without_failed_fails_and_check_mode_skips() {
        let o = outcome("x", &output(r#"{"rc": 2, "stdout": "a\nb"}"#, "", 0), None);
        assert!(o.failed);
        assert_eq!(o.data["stdout_lines"], json!(["a", "b"]));
        let o = outcome(
            "tempfile",
            &output(
                r#"{"skipped": true, "msg": "remote module (tempfile) does not support check mode"}"#,
                "",
                0,
            ),
            None,
        );
        assert!(o.skipped && !o.failed && !o.changed);
    }

    #[test]
    fn facts_merge_into_ansible_facts() {
        let o = outcome(
            "getent",
            &output(
                r#"{"ansible_facts": {"getent_passwd": {"root": []}}}"#,
                "",
                0,
            ),
            Some(&json!({"hostname": "h"})),
        );
        assert_eq!(o.facts["getent_passwd"], json!({"root": []}));
        assert_eq!(
            o.facts["ansible_facts"],
            json!({"hostname": "h", "getent_passwd": {"root": []}})
        );
    }

    #[test]
    fn no_result_is_a_failure_with_the_output() {
        let o = outcome("x", &output("", "Traceback\nImportError: boom\n", 1), None);
        assert!(o.failed);
        assert!(
            o.msg.contains("ImportError: boom") && o.msg.contains("exit 1"),
            "{}",
            o.msg
        );
        assert_eq!(o.data["rc"], json!(1));
    }

    #[test]
    fn mapping_sides_are_serialized_like_ansible() {
        let d = diffs(
            "file",
            &json!({"before": {"state": "absent", "path": "/p"}, "after": {"state": "file", "path": "/p"}}),
        );
        assert_eq!(d[0].target, "file");
        assert!(
            d[0].text.contains("-    \"state\": \"absent\""),
            "{}",
            d[0].text
        );
    }
}
