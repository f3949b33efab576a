//! One run's figures from its journal: stages, the measured RTO and RPO against their
//! targets, the verdict, waits at sync points.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::journal::{self, Entry};
use crate::output::text::fmt_ms;

/// One stage of the DAG as the run went.
#[derive(Default)]
pub(super) struct StageSpan {
    /// The first node start.
    pub start: Option<OffsetDateTime>,
    /// The last node end.
    pub end: Option<OffsetDateTime>,
    /// The last line about one of its nodes (the end of what is known, for a cut-off run).
    pub last: Option<OffsetDateTime>,
    pub plays: Vec<String>,
    pub hosts: Vec<String>,
    /// Its nodes, and how many of them have an end line.
    pub nodes: usize,
    pub ended: usize,
    /// Task results reported as changed.
    pub changed: u64,
}

impl StageSpan {
    /// Every node of the stage has its end line.
    pub fn complete(&self) -> bool {
        self.ended == self.nodes
    }

    /// Something of the stage ran (a node started, or a task reported).
    pub fn ran(&self) -> bool {
        self.start.is_some() || self.last.is_some()
    }

    /// From the first start to the last end, or (cut off) to the last line known.
    pub fn duration_ms(&self) -> Option<u64> {
        let end = if self.complete() { self.end } else { self.last };
        match (self.start, end) {
            (Some(a), Some(b)) => Some((b - a).whole_milliseconds().max(0) as u64),
            _ => None,
        }
    }
}

/// A journal read as one run.
pub(super) struct Report<'a> {
    /// The `run_start` line.
    pub start: &'a Entry,
    /// The `run_end` line, unless the run was cut off.
    pub end: Option<&'a Entry>,
    pub entries: &'a [Entry],
    pub stages: BTreeMap<u64, StageSpan>,
    /// The journal's last line was cut off.
    pub cut_last_line: bool,
}

impl<'a> Report<'a> {
    pub fn from_journal(journal: &'a journal::Journal) -> Option<Self> {
        let entries = &journal.entries[..];
        let start = entries.iter().find(|e| e.kind == "run_start")?;
        let end = entries.iter().rev().find(|e| e.kind == "run_end");
        let mut node_stage: BTreeMap<u64, u64> = BTreeMap::new();
        let mut stages: BTreeMap<u64, StageSpan> = BTreeMap::new();
        // A run whose later plays got their hosts during it (after `add_host`/`group_by`)
        // records the grown DAG again: each record holds every node so far.
        if let Some(dag) = entries.iter().rev().find(|e| e.kind == "dag") {
            for n in dag.fields["nodes"].as_array().into_iter().flatten() {
                let (node, stage) = (
                    n["node"].as_u64().unwrap_or(0),
                    n["stage"].as_u64().unwrap_or(0),
                );
                node_stage.insert(node, stage);
                let span = stages.entry(stage).or_default();
                span.nodes += 1;
                let play = n["play"].as_str().unwrap_or_default().to_owned();
                let host = n["host"].as_str().unwrap_or_default().to_owned();
                if !span.plays.contains(&play) {
                    span.plays.push(play);
                }
                if !span.hosts.contains(&host) {
                    span.hosts.push(host);
                }
            }
        }
        for e in entries {
            let Some(stage) = e.fields["node"].as_u64().and_then(|n| node_stage.get(&n)) else {
                continue;
            };
            let Some(span) = stages.get_mut(stage) else {
                continue;
            };
            match e.kind.as_str() {
                "node_start" => span.start = Some(span.start.map_or(e.at, |s| s.min(e.at))),
                "node_end" => {
                    span.end = Some(span.end.map_or(e.at, |s| s.max(e.at)));
                    span.ended += 1;
                }
                "task_end" if e.fields["status"] == "changed" => span.changed += 1,
                _ => {}
            }
            // Nodes that never started end as skipped or interrupted: not a sign of work.
            if e.kind != "node_end" || span.start.is_some() {
                span.last = Some(span.last.map_or(e.at, |s| s.max(e.at)));
            }
        }
        Some(Report {
            start,
            end,
            entries,
            stages,
            cut_last_line: journal.cut_last_line,
        })
    }

    /// A plan: it changes nothing, so it measures no RTO and restores no data.
    pub fn is_plan(&self) -> bool {
        self.start.fields["mode"] == "plan"
    }

    /// `plan` or `apply`.
    pub fn mode(&self) -> String {
        s(&self.start.fields["mode"])
    }

    /// The playbooks as given on the command line.
    pub fn playbooks(&self) -> Vec<String> {
        self.start.fields["playbooks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect()
    }

    /// The measured RTO in seconds: an apply's time from its start to its end.
    pub fn rto_secs(&self) -> Option<f64> {
        (!self.is_plan())
            .then(|| self.elapsed_ms())
            .flatten()
            .map(|ms| ms as f64 / 1000.0)
    }

    /// Whether the measured RTO is within `rto_target`.
    pub fn rto_met(&self) -> Option<bool> {
        Some(self.rto_secs()? <= self.target_secs()?)
    }

    /// The measured RPO in seconds (see [`Report::rpo`]).
    pub fn rpo_secs(&self) -> Option<f64> {
        self.rpo()?["rpo_secs"].as_f64()
    }

    /// The run ended with success (a plan: whether or not it found changes).
    pub fn succeeded(&self) -> bool {
        self.verdict().starts_with("success")
    }

    /// The RTO line of the Markdown report.
    pub fn rto_line(&self) -> String {
        match (self.elapsed_ms(), self.target_secs()) {
            (Some(ms), _) if self.is_plan() => format!(
                "- Elapsed: {} (a plan changes nothing, so it measures no RTO)",
                fmt_ms(ms)
            ),
            (Some(ms), Some(_)) => format!(
                "- Measured RTO: {} (target {}: {})",
                fmt_ms(ms),
                s(&self.start.fields["rto_target"]),
                if self.rto_met() == Some(true) {
                    "✅ met"
                } else {
                    "⚠️ MISSED"
                }
            ),
            (Some(ms), None) => format!("- Measured RTO: {} (no `rto_target` set)", fmt_ms(ms)),
            (None, _) => "- Measured RTO: unknown: the journal has no end".to_owned(),
        }
    }

    pub fn t(&self, at: OffsetDateTime) -> String {
        format!("T+{:.3}s", (at - self.start.at).as_seconds_f64())
    }

    pub fn elapsed_ms(&self) -> Option<u64> {
        self.end
            .map(|e| (e.at - self.start.at).whole_milliseconds().max(0) as u64)
    }

    pub fn target_secs(&self) -> Option<f64> {
        self.start.fields["rto_target_secs"].as_f64()
    }

    /// What the run's last `recovery_point` recorded: restored-to and incident times and
    /// the seconds between them. A plan restores nothing, so it has none.
    pub fn rpo(&self) -> Option<&'a Value> {
        if self.is_plan() {
            return None;
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == "task_end" && e.fields["rpo"]["rpo_secs"].is_number())
            .map(|e| &e.fields["rpo"])
    }

    pub fn rpo_target_secs(&self) -> Option<f64> {
        self.start.fields["rpo_target_secs"].as_f64()
    }

    pub fn rpo_met(&self) -> Option<bool> {
        Some(self.rpo_secs()? <= self.rpo_target_secs()?)
    }

    /// The RPO line of the Markdown report, when there is something to say.
    pub fn rpo_line(&self) -> Option<String> {
        let target = self.start.fields["rpo_target"].as_str();
        let Some(rpo) = self.rpo() else {
            return target.filter(|_| !self.is_plan()).map(|t| {
                format!(
                    "- Measured RPO: not recorded (target {t}; no `recovery_point` task reported)"
                )
            });
        };
        let ms = (rpo["rpo_secs"].as_f64().unwrap_or(0.0) * 1000.0).round() as u64;
        let verdict = match (target, self.rpo_met()) {
            (Some(t), Some(true)) => format!("target {t}: ✅ met"),
            (Some(t), _) => format!("target {t}: ⚠️ MISSED"),
            (None, _) => "no `rpo_target` set".to_owned(),
        };
        Some(format!(
            "- Measured RPO: {} (data restored to {}, lost at {}; {verdict})",
            fmt_ms(ms),
            s(&rpo["restored_to"]),
            s(&rpo["incident_time"])
        ))
    }

    pub fn verdict(&self) -> &'static str {
        match (
            self.end.and_then(|e| e.fields["exit_code"].as_i64()),
            self.end.map(|e| e.fields["interrupted"] == json!(true)),
        ) {
            (None, _) => "incomplete (no `run_end`: the run was cut off)",
            (_, Some(true)) => "interrupted",
            (Some(0), _) => "success",
            (Some(2), _) => "success (plan with changes)",
            _ => "failed",
        }
    }

    /// The message of the last failed task of `node_end`'s node, when it says more than
    /// one line (a one-line message is already the node's reason).
    pub fn failed_task_msg(&self, node_end: &Entry) -> Option<String> {
        let node = &node_end.fields["node"];
        self.entries
            .iter()
            .take_while(|e| !std::ptr::eq(*e, node_end))
            .filter(|e| {
                e.kind == "task_end"
                    && &e.fields["node"] == node
                    && e.fields["status"].as_str() == Some("failed")
            })
            .last()
            .map(|e| s(&e.fields["msg"]))
            .filter(|msg| msg.lines().count() > 1)
    }

    /// The journal's sync points: how long hosts waited for each other or another host.
    pub fn waits(&self) -> Waits {
        let mut w = Waits::default();
        for e in self.entries.iter().filter(|e| e.kind == "sync") {
            let ms = e.fields["waited_ms"].as_u64().unwrap_or(0);
            w.points += 1;
            w.total_ms += ms;
            if ms >= w.longest_ms {
                w.longest_ms = ms;
                w.longest_host = s(&e.fields["host"]);
                w.longest_what = s(&e.fields["what"]);
            }
        }
        w
    }

    /// The report as one JSON document (see the README).
    pub fn to_json(&self, path: &Path, slow_ms: u64) -> Value {
        let waits = self.waits();
        let f = &self.start.fields;
        let findings = self.findings(slow_ms);
        json!({
            "sync_points": waits.points,
            "sync_waited_ms": waits.total_ms,
            "journal": path.display().to_string(),
            "mode": f["mode"],
            "playbooks": f["playbooks"],
            "user": f["user"],
            "controller": f["controller"],
            "dr_version": f["dr_version"],
            "inventory": f["inventory"],
            "limit": f["limit"],
            "extra_vars": f["extra_vars"],
            "started": journal::timestamp(self.start.at),
            "finished": self.end.map(|e| journal::timestamp(e.at)),
            "result": self.verdict(),
            "elapsed_ms": self.elapsed_ms(),
            "rto_target_secs": self.target_secs(),
            "rto_met": self.rto_met(),
            "rpo_secs": self.rpo().map(|r| &r["rpo_secs"]),
            "rpo_restored_to": self.rpo().map(|r| &r["restored_to"]),
            "rpo_incident_time": self.rpo().map(|r| &r["incident_time"]),
            "rpo_target_secs": self.rpo_target_secs(),
            "rpo_met": self.rpo_met(),
            "cut_last_line": self.cut_last_line,
            "stages": self.stages.iter().map(|(n, sp)| json!({
                "stage": n, "plays": sp.plays, "hosts": sp.hosts,
                "ran": sp.ran(), "ended": sp.complete(), "changed": sp.changed,
                "duration_ms": sp.duration_ms(),
            })).collect::<Vec<_>>(),
            "findings": findings.to_json(),
            "actions": self.actions(&findings),
        })
    }
}

/// How long the run's hosts waited at sync points (`docs/cross-host.md`).
#[derive(Default)]
pub(super) struct Waits {
    pub points: usize,
    pub total_ms: u64,
    pub longest_ms: u64,
    pub longest_host: String,
    pub longest_what: String,
}

/// A JSON value as text (a string without its quotes, null as nothing).
pub(super) fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
