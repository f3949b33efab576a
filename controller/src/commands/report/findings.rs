//! What a drill report lists under Findings (failures, retries, slow tasks, long waits at
//! sync points, missed targets), and the Actions derived from them.

use serde_json::{Value, json};

use super::summary::{Report, s};
use crate::journal::Entry;
use crate::output::text::fmt_ms;

/// The findings of one run, each pointing at its journal line.
pub(super) struct Findings<'a> {
    /// Nodes that ended failed, unreachable, skipped or interrupted.
    pub failures: Vec<&'a Entry>,
    /// Nodes that started and have no end line: the run was cut off under them.
    pub cut: Vec<&'a Entry>,
    /// Task results that needed more than one attempt (`until`/`retries`).
    pub retries: Vec<&'a Entry>,
    /// Task results that took at least `slow_ms`.
    pub slow: Vec<&'a Entry>,
    /// Sync points where a host waited at least `slow_ms` for others.
    pub waits: Vec<&'a Entry>,
    /// The threshold of `slow` and `waits`.
    pub slow_ms: u64,
    /// Missed or unmeasured targets, as sentences.
    pub targets: Vec<String>,
}

impl Findings<'_> {
    /// The findings as JSON (`dr report --format json`: `findings`).
    pub fn to_json(&self) -> Value {
        let task = |e: &&Entry| {
            json!({
                "host": e.fields["host"], "play": e.fields["play"], "task": e.fields["task"],
                "status": e.fields["status"], "duration_ms": e.fields["duration_ms"],
                "attempts": e.fields["attempts"],
            })
        };
        json!({
            "failures": self.failures.iter().map(|e| json!({
                "play": e.fields["play"], "host": e.fields["host"],
                "outcome": e.fields["outcome"], "reason": e.fields["reason"],
            })).collect::<Vec<_>>(),
            "cut_off": self.cut.iter().map(|e| json!({
                "play": e.fields["play"], "host": e.fields["host"],
            })).collect::<Vec<_>>(),
            "retries": self.retries.iter().map(task).collect::<Vec<_>>(),
            "slow_ms": self.slow_ms,
            "slow_tasks": self.slow.iter().map(task).collect::<Vec<_>>(),
            "waits": self.waits.iter().map(|e| json!({
                "host": e.fields["host"], "what": e.fields["what"], "waited_ms": e.fields["waited_ms"],
            })).collect::<Vec<_>>(),
            "targets": self.targets,
        })
    }
}

/// A task result as `` `host` · task ``, with its item when it looped.
pub(super) fn task_label(e: &Entry) -> String {
    let item = e.fields["item"]
        .as_str()
        .map(|i| format!(" ({i})"))
        .unwrap_or_default();
    format!(
        "`{}` · {}{item}",
        s(&e.fields["host"]),
        s(&e.fields["task"])
    )
}

/// How a retried task ended: Ansible's `attempts` is the attempt that succeeded, or the
/// number of retries when they ran out.
pub(super) fn retry_text(e: &Entry) -> String {
    let attempts = e.fields["attempts"].as_u64().unwrap_or(0);
    if e.fields["status"] == "failed" {
        format!("failed after {} attempts", attempts + 1)
    } else {
        format!("{} after {attempts} attempts", s(&e.fields["status"]))
    }
}

impl<'a> Report<'a> {
    /// What went wrong or slowly, from the journal.
    pub fn findings(&self, slow_ms: u64) -> Findings<'a> {
        let entries = self.entries;
        let ended: Vec<&Value> = entries
            .iter()
            .filter(|e| e.kind == "node_end")
            .map(|e| &e.fields["node"])
            .collect();
        let task_ends = || entries.iter().filter(|e| e.kind == "task_end");
        Findings {
            failures: entries
                .iter()
                .filter(|e| {
                    e.kind == "node_end"
                        && matches!(
                            e.fields["outcome"].as_str(),
                            Some("failed" | "unreachable" | "skipped" | "interrupted")
                        )
                })
                .collect(),
            cut: entries
                .iter()
                .filter(|e| e.kind == "node_start" && !ended.contains(&&e.fields["node"]))
                .collect(),
            retries: task_ends()
                .filter(|e| {
                    let attempts = e.fields["attempts"].as_u64().unwrap_or(0);
                    attempts > 1 || (attempts > 0 && e.fields["status"] == "failed")
                })
                .collect(),
            slow: task_ends()
                .filter(|e| {
                    e.fields["duration_ms"]
                        .as_u64()
                        .is_some_and(|ms| ms >= slow_ms)
                })
                .collect(),
            waits: entries
                .iter()
                .filter(|e| {
                    e.kind == "sync"
                        && e.fields["waited_ms"]
                            .as_u64()
                            .is_some_and(|ms| ms >= slow_ms)
                })
                .collect(),
            slow_ms,
            targets: self.missed_targets(),
        }
    }

    /// The RTO and RPO targets this run missed or did not measure.
    fn missed_targets(&self) -> Vec<String> {
        let f = &self.start.fields;
        let mut out = Vec::new();
        if self.is_plan() {
            return out;
        }
        match (self.rto_met(), self.rto_secs()) {
            (Some(false), Some(secs)) => out.push(format!(
                "RTO {} missed the target {}",
                fmt_ms((secs * 1000.0) as u64),
                s(&f["rto_target"])
            )),
            (None, None) if f["rto_target"].is_string() => out.push(format!(
                "RTO not measured (target {}): the run has no end",
                s(&f["rto_target"])
            )),
            _ => {}
        }
        match (self.rpo_met(), self.rpo_secs()) {
            (Some(false), Some(secs)) => out.push(format!(
                "RPO {} missed the target {}",
                fmt_ms((secs * 1000.0).round() as u64),
                s(&f["rpo_target"])
            )),
            (_, None) if f["rpo_target"].is_string() => out.push(format!(
                "RPO not recorded (target {}): no `recovery_point` task reported",
                s(&f["rpo_target"])
            )),
            _ => {}
        }
        out
    }

    /// Follow-ups, one per finding that needs one: the team's checklist.
    pub fn actions(&self, findings: &Findings) -> Vec<String> {
        let mut out = Vec::new();
        for e in &findings.cut {
            out.push(format!(
                "Find why the run stopped during `{}` on `{}` and drill again",
                s(&e.fields["play"]),
                s(&e.fields["host"])
            ));
        }
        for e in &findings.failures {
            out.push(format!(
                "Fix `{}` on `{}` ({}: {})",
                s(&e.fields["play"]),
                s(&e.fields["host"]),
                s(&e.fields["outcome"]),
                first_line(&s(&e.fields["reason"]))
            ));
        }
        for t in &findings.targets {
            out.push(format!("Bring within target: {t}"));
        }
        for e in &findings.retries {
            out.push(format!(
                "Look into the retries of {} ({})",
                task_label(e),
                retry_text(e)
            ));
        }
        for e in &findings.slow {
            out.push(format!(
                "Shorten {} ({})",
                task_label(e),
                fmt_ms(e.fields["duration_ms"].as_u64().unwrap_or(0))
            ));
        }
        for e in &findings.waits {
            out.push(format!(
                "Shorten the wait of `{}` at `{}` ({})",
                s(&e.fields["host"]),
                s(&e.fields["what"]),
                fmt_ms(e.fields["waited_ms"].as_u64().unwrap_or(0))
            ));
        }
        out
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
