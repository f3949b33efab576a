//! Filters and tests against the oracle: every expression of `filter_parity/cases.txt` is
//! evaluated by ansible-core's own templating (`filter_parity/oracle.py`, run with the
//! venv's python) and by dr's template environment, and the results must be identical:
//! the same value, or an error on both sides. A case marked `##refuse: why` is one dr
//! refuses on purpose: dr must fail there, whatever Ansible does.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filter_parity")
}

/// What a case expects of dr besides "what Ansible gives".
enum Mark {
    /// Compare with the oracle.
    Oracle,
    /// dr refuses on purpose (the reason).
    Refuse(String),
    /// The oracle cannot answer (a collection or library it lacks): dr must give this value.
    Expect(Json),
    /// A known difference outside the filters (the reason): reported only.
    Known(String),
}

struct Case {
    expr: String,
    mark: Mark,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("cases.txt")).expect("cases.txt is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (expr, note) = l.split_once(" ##").unwrap_or((l, ""));
            let note = note.trim();
            let mark = if let Some(r) = note.strip_prefix("refuse:") {
                Mark::Refuse(r.trim().to_owned())
            } else if let Some(j) = note.strip_prefix("expect:") {
                Mark::Expect(
                    serde_json::from_str(j.trim())
                        .unwrap_or_else(|e| panic!("bad ##expect JSON in `{l}`: {e}")),
                )
            } else if let Some(r) = note.strip_prefix("known:") {
                Mark::Known(r.trim().to_owned())
            } else {
                assert!(note.is_empty(), "unknown mark in `{l}`");
                Mark::Oracle
            };
            Case {
                expr: expr.trim().to_owned(),
                mark,
            }
        })
        .collect()
}

fn oracle(home: &Path) -> Vec<Json> {
    let bin = std::env::var("DR_TEST_ANSIBLE_BIN").unwrap_or_else(|_| {
        panic!("DR_TEST_ANSIBLE_BIN is not set: run with `tests/run`, which installs ansible-core into a venv and sets it")
    });
    let out = Command::new(Path::new(&bin).join("python"))
        .arg(dir().join("oracle.py"))
        .arg(dir().join("vars.json"))
        .arg(dir().join("cases.txt"))
        .env("HOME", home)
        .env("DR_PARITY", "set")
        .env("TZ", "UTC")
        .output()
        .expect("the oracle's python runs");
    assert!(
        out.status.success(),
        "oracle.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle.py prints JSON")
}

/// Equal as Python compares results: floats within rounding, everything else exactly.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) if x.is_f64() || y.is_f64() => {
            x.is_f64() == y.is_f64()
                && match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                    _ => false,
                }
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn filters_and_tests_give_what_ansible_gives() {
    // Both sides see the same HOME (for `expanduser`), a scratch one, so the oracle's
    // ansible-core leaves nothing in the user's home.
    let home = tempfile::tempdir().expect("a temporary directory");
    // SAFETY: set before any thread of this test reads the environment.
    unsafe {
        std::env::set_var("HOME", home.path());
        std::env::set_var("DR_PARITY", "set");
        std::env::set_var("TZ", "UTC");
    }
    let cases = cases();
    let expected = oracle(home.path());
    assert_eq!(
        cases.len(),
        expected.len(),
        "oracle answered a different number of cases"
    );
    let vars: Json = serde_json::from_str(
        &std::fs::read_to_string(dir().join("vars.json")).expect("vars.json is readable"),
    )
    .expect("vars.json is JSON");
    let Json::Object(vars) = vars else {
        panic!("vars.json must hold a mapping")
    };
    let scope = dr_agent::template::Templater::new().scope(vars);
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let (mut equal, mut refused, mut expected_ok) = (0, 0, 0);
    for (case, want) in cases.iter().zip(&expected) {
        assert_eq!(
            want["expr"],
            json!(case.expr),
            "cases out of step with the oracle"
        );
        let got = scope.render_value(&json!(format!("{{{{ {} }}}}", case.expr)));
        let oracle_says = || match want.get("ok") {
            Some(w) => format!("ansible: {w}"),
            None => format!("ansible fails: {}", want["err"]),
        };
        let dr_says = match &got {
            Ok(v) => format!("dr: {v}"),
            Err(e) => format!("dr fails: {e}"),
        };
        match &case.mark {
            Mark::Refuse(why) => match got {
                Err(_) => refused += 1,
                Ok(v) => failures.push(format!(
                    "{}\n    dr should refuse ({why}) but gave {v}",
                    case.expr
                )),
            },
            Mark::Expect(w) => match &got {
                Ok(v) if same(v, w) => expected_ok += 1,
                _ => failures.push(format!("{}\n    expected: {w}\n    {dr_says}", case.expr)),
            },
            Mark::Known(why) => known.push(format!(
                "{} ({why})\n    {}\n    {dr_says}",
                case.expr,
                oracle_says()
            )),
            Mark::Oracle => match (&got, want.get("ok")) {
                (Ok(v), Some(w)) if same(v, w) => equal += 1,
                (Err(_), None) => equal += 1,
                _ => failures.push(format!(
                    "{}\n    {}\n    {dr_says}",
                    case.expr,
                    oracle_says()
                )),
            },
        }
    }
    eprintln!(
        "filter parity: {} cases: {equal} identical to ansible-core, {expected_ok} as documented (collections the oracle lacks), {refused} refused as listed, {} known differences, {} failures",
        cases.len(),
        known.len(),
        failures.len()
    );
    for k in &known {
        eprintln!("known difference: {k}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} expressions differ from ansible-core:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
