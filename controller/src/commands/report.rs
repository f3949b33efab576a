//! `dr report [RUN]`: a Markdown drill report from a journal — timeline, stage durations,
//! failures, the measured RTO against the target, and the RPO a restore recorded
//! (`recovery_point`) against `rpo_target`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Error;
use crate::cli::{Format, ReportArgs};
use crate::config::Config;
use crate::journal::{self, Entry};
use crate::output::text::fmt_ms;

/// Prints the report.
pub fn run(args: &ReportArgs) -> Result<i32, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
    let config = Config::discover(&cwd)?;
    let path = find_journal(&config.journal_dir(), args.run.as_deref())?;
    let journal = journal::read(&path).map_err(Error::Message)?;
    let report = Report::from_journal(&journal).ok_or_else(|| {
        Error::Message(format!(
            "`{}` has no `run_start` line: not a dr journal",
            path.display()
        ))
    })?;
    match args.format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&report.to_json(&path)).unwrap_or_default()
        ),
        _ => crate::out!("{}", report.markdown(&path)),
    }
    Ok(0)
}

fn find_journal(dir: &Path, run: Option<&str>) -> Result<PathBuf, Error> {
    if let Some(r) = run {
        let direct = PathBuf::from(r);
        if direct.is_file() {
            return Ok(direct);
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|_| {
            Error::Message(format!(
                "no journals in `{}`: run `dr apply` first",
                dir.display()
            ))
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .filter(|p| {
            run.is_none_or(|r| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(r))
            })
        })
        .collect();
    // Names start with the run's UTC start time (fixed width), so the last is the latest
    // run, plan or apply.
    files.sort();
    files.pop().ok_or_else(|| match run {
        Some(r) => Error::Message(format!("no journal `{r}` in `{}`", dir.display())),
        None => Error::Message(format!(
            "no journals in `{}`: run `dr apply` first",
            dir.display()
        )),
    })
}

#[derive(Default)]
struct StageSpan {
    /// The first node start.
    start: Option<OffsetDateTime>,
    /// The last node end.
    end: Option<OffsetDateTime>,
    /// The last line about one of its nodes (the end of what is known, for a cut-off run).
    last: Option<OffsetDateTime>,
    plays: Vec<String>,
    hosts: Vec<String>,
    /// Its nodes, and how many of them have an end line.
    nodes: usize,
    ended: usize,
    /// Task results reported as changed.
    changed: u64,
}

impl StageSpan {
    /// Every node of the stage has its end line.
    fn complete(&self) -> bool {
        self.ended == self.nodes
    }

    /// Something of the stage ran (a node started, or a task reported).
    fn ran(&self) -> bool {
        self.start.is_some() || self.last.is_some()
    }

    /// From the first start to the last end, or (cut off) to the last line known.
    fn duration_ms(&self) -> Option<u64> {
        let end = if self.complete() { self.end } else { self.last };
        match (self.start, end) {
            (Some(a), Some(b)) => Some((b - a).whole_milliseconds().max(0) as u64),
            _ => None,
        }
    }
}

struct Report<'a> {
    start: &'a Entry,
    end: Option<&'a Entry>,
    entries: &'a [Entry],
    stages: BTreeMap<u64, StageSpan>,
    cut_last_line: bool,
}

impl<'a> Report<'a> {
    fn from_journal(journal: &'a journal::Journal) -> Option<Self> {
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

    fn t(&self, at: OffsetDateTime) -> String {
        format!("T+{:.3}s", (at - self.start.at).as_seconds_f64())
    }

    fn elapsed_ms(&self) -> Option<u64> {
        self.end
            .map(|e| (e.at - self.start.at).whole_milliseconds().max(0) as u64)
    }

    fn target_secs(&self) -> Option<f64> {
        self.start.fields["rto_target_secs"].as_f64()
    }

    /// What the run's last `recovery_point` recorded: restored-to and incident times and
    /// the seconds between them. A plan restores nothing, so it has none.
    fn rpo(&self) -> Option<&'a Value> {
        if self.start.fields["mode"] == "plan" {
            return None;
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == "task_end" && e.fields["rpo"]["rpo_secs"].is_number())
            .map(|e| &e.fields["rpo"])
    }

    fn rpo_target_secs(&self) -> Option<f64> {
        self.start.fields["rpo_target_secs"].as_f64()
    }

    fn rpo_met(&self) -> Option<bool> {
        let secs = self.rpo()?["rpo_secs"].as_f64()?;
        Some(secs <= self.rpo_target_secs()?)
    }

    /// The RPO line of the Markdown report, when there is something to say.
    fn rpo_line(&self) -> Option<String> {
        let target = self.start.fields["rpo_target"].as_str();
        let Some(rpo) = self.rpo() else {
            return target
                .filter(|_| self.start.fields["mode"] != "plan")
                .map(|t| {
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

    fn verdict(&self) -> &'static str {
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

    fn markdown(&self, path: &Path) -> String {
        let f = &self.start.fields;
        let mut out = String::new();
        let books: Vec<&str> = f["playbooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let _ = writeln!(
            out,
            "# Drill report: {} {}\n",
            f["mode"].as_str().unwrap_or("run"),
            books.join(" ")
        );
        let _ = writeln!(out, "- Journal: `{}`", path.display());
        let _ = writeln!(out, "- Started: {}", journal::timestamp(self.start.at));
        if let Some(end) = self.end {
            let _ = writeln!(out, "- Finished: {}", journal::timestamp(end.at));
        }
        if let Some(limit) = f["limit"].as_str() {
            let _ = writeln!(out, "- Limit: `{limit}`");
        }
        let _ = writeln!(out, "- Result: {}", self.verdict());
        if self.cut_last_line {
            let _ = writeln!(
                out,
                "- Note: the last line of the journal is cut off (the run was killed while writing it); it is left out"
            );
        }
        let plan = f["mode"] == "plan";
        match (self.elapsed_ms(), self.target_secs()) {
            (Some(ms), _) if plan => {
                let _ = writeln!(
                    out,
                    "- Elapsed: {} (a plan changes nothing, so it measures no RTO)",
                    fmt_ms(ms)
                );
            }
            (Some(ms), Some(target)) => {
                let met = (ms as f64) / 1000.0 <= target;
                let _ = writeln!(
                    out,
                    "- Measured RTO: {} (target {}: {})",
                    fmt_ms(ms),
                    f["rto_target"].as_str().unwrap_or("?"),
                    if met { "met" } else { "MISSED" }
                );
            }
            (Some(ms), None) => {
                let _ = writeln!(out, "- Measured RTO: {} (no `rto_target` set)", fmt_ms(ms));
            }
            (None, _) => {
                let _ = writeln!(out, "- Measured RTO: unknown: the journal has no end");
            }
        }
        if let Some(line) = self.rpo_line() {
            let _ = writeln!(out, "{line}");
        }
        let waits = self.waits();
        if waits.points > 0 {
            let _ = writeln!(
                out,
                "- Waiting for other hosts: {} sync point(s), {} in all, longest {} (`{}` at {})",
                waits.points,
                fmt_ms(waits.total_ms),
                fmt_ms(waits.longest_ms),
                waits.longest_host,
                waits.longest_what
            );
        }
        let _ = writeln!(out, "\n## Timeline\n\n| time | event |\n|---|---|");
        let _ = writeln!(out, "| {} | run started |", self.t(self.start.at));
        for e in self.entries {
            let line = match e.kind.as_str() {
                "node_start" => format!(
                    "`{}` started on `{}`",
                    s(&e.fields["play"]),
                    s(&e.fields["host"])
                ),
                "node_end" => {
                    let reason = e.fields["reason"]
                        .as_str()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    format!(
                        "`{}` on `{}`: {}{reason}",
                        s(&e.fields["play"]),
                        s(&e.fields["host"]),
                        s(&e.fields["outcome"])
                    )
                }
                "task_end"
                    if matches!(
                        e.fields["status"].as_str(),
                        Some("changed" | "failed" | "interrupted" | "unknown")
                    ) =>
                {
                    format!(
                        "`{}` · {}: {}",
                        s(&e.fields["host"]),
                        s(&e.fields["task"]),
                        s(&e.fields["status"])
                    )
                }
                _ => continue,
            };
            let _ = writeln!(out, "| {} | {} |", self.t(e.at), line.replace('|', "\\|"));
        }
        if let Some(end) = self.end {
            let _ = writeln!(out, "| {} | run finished |", self.t(end.at));
        }
        let _ = writeln!(
            out,
            "\n## Stages\n\n| stage | plays | hosts | started | finished | duration | changes |\n|---|---|---|---|---|---|---|"
        );
        for (n, span) in &self.stages {
            let started = span.start.map_or("-".into(), |a| self.t(a));
            let (finished, dur) = match (span.ran(), span.complete(), span.duration_ms()) {
                (false, _, _) => ("-".into(), "not run".into()),
                (true, true, Some(ms)) => (span.end.map_or("-".into(), |b| self.t(b)), fmt_ms(ms)),
                (true, _, ms) => (
                    "cut off".into(),
                    ms.map_or("unknown".into(), |ms| format!("at least {}", fmt_ms(ms))),
                ),
            };
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {started} | {finished} | {dur} | {} |",
                span.plays.join(", "),
                span.hosts.join(", "),
                span.changed
            );
        }
        let failures: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| {
                e.kind == "node_end"
                    && matches!(
                        e.fields["outcome"].as_str(),
                        Some("failed" | "unreachable" | "skipped" | "interrupted")
                    )
            })
            .collect();
        // Nodes that started and have no end line: the run was cut off under them.
        let ended: Vec<&Value> = self
            .entries
            .iter()
            .filter(|e| e.kind == "node_end")
            .map(|e| &e.fields["node"])
            .collect();
        let cut: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.kind == "node_start" && !ended.contains(&&e.fields["node"]))
            .collect();
        let _ = writeln!(out, "\n## Failures\n");
        for e in &cut {
            let _ = writeln!(
                out,
                "- `{}` on `{}`: no end recorded (the run was cut off)",
                s(&e.fields["play"]),
                s(&e.fields["host"])
            );
        }
        if failures.is_empty() && cut.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for e in failures {
            let _ = writeln!(
                out,
                "- `{}` on `{}`: {}: {}",
                s(&e.fields["play"]),
                s(&e.fields["host"]),
                s(&e.fields["outcome"]),
                s(&e.fields["reason"])
            );
            // Why: the failing task's message (its command, code and output's tail).
            if let Some(msg) = self.failed_task_msg(e) {
                let _ = writeln!(out, "\n  ~~~");
                for line in msg.lines() {
                    let _ = writeln!(out, "  {line}");
                }
                let _ = writeln!(out, "  ~~~");
            }
        }
        out
    }

    /// The message of the last failed task of `node_end`'s node, when it says more than
    /// one line (a one-line message is already the node's reason).
    fn failed_task_msg(&self, node_end: &Entry) -> Option<String> {
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
    fn waits(&self) -> Waits {
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

    fn to_json(&self, path: &Path) -> Value {
        let waits = self.waits();
        json!({
            "sync_points": waits.points,
            "sync_waited_ms": waits.total_ms,
            "journal": path.display().to_string(),
            "started": journal::timestamp(self.start.at),
            "finished": self.end.map(|e| journal::timestamp(e.at)),
            "result": self.verdict(),
            "elapsed_ms": self.elapsed_ms(),
            "rto_target_secs": self.target_secs(),
            "rto_met": match (self.elapsed_ms(), self.target_secs()) { (Some(ms), Some(t)) if self.start.fields["mode"] != "plan" => Some(ms as f64 / 1000.0 <= t), _ => None },
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
        })
    }
}

/// How long the run's hosts waited at sync points (`docs/cross-host.md`).
#[derive(Default)]
struct Waits {
    points: usize,
    total_ms: u64,
    longest_ms: u64,
    longest_host: String,
    longest_what: String,
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
