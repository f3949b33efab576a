//! One run as the drill report SRE teams file: Setup, Scenario, Timeline, Metrics,
//! Findings, Actions.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::findings::{Findings, retry_text, task_label};
use super::summary::{Report, s};
use crate::journal::{self, Entry};
use crate::output::text::fmt_ms;

/// What a journal written before dr recorded a field shows for it.
const NOT_RECORDED: &str = "not recorded (a journal of an older dr)";

impl Report<'_> {
    /// The report as Markdown.
    pub fn markdown(&self, path: &Path, slow_ms: u64) -> String {
        let f = &self.start.fields;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Drill report: {} {}\n",
            f["mode"].as_str().unwrap_or("run"),
            self.playbooks().join(" ")
        );
        let _ = writeln!(out, "- Result: {}", self.verdict());
        if self.cut_last_line {
            let _ = writeln!(
                out,
                "- Note: the last line of the journal is cut off (the run was killed while writing it); it is left out"
            );
        }
        self.setup(&mut out, path);
        self.scenario(&mut out);
        self.timeline(&mut out);
        self.metrics(&mut out);
        let findings = self.findings(slow_ms);
        self.findings_section(&mut out, &findings);
        let _ = writeln!(out, "\n## Actions\n");
        for action in self.actions(&findings) {
            let _ = writeln!(out, "- [ ] {}", action.replace('\n', " "));
        }
        let _ = writeln!(
            out,
            "- [ ] Give each action an owner and a due date\n- [ ] Update the runbook with what this drill taught\n- [ ] Schedule the next drill"
        );
        out
    }

    fn setup(&self, out: &mut String, path: &Path) {
        let f = &self.start.fields;
        let _ = writeln!(out, "\n## Setup\n");
        let _ = writeln!(out, "- Started: {}", journal::timestamp(self.start.at));
        if let Some(end) = self.end {
            let _ = writeln!(out, "- Finished: {}", journal::timestamp(end.at));
        }
        let by = match (f["user"].as_str(), f["controller"].as_str()) {
            (Some(u), Some(c)) => format!("`{u}` on `{c}`"),
            (Some(u), None) => format!("`{u}`"),
            _ => NOT_RECORDED.to_owned(),
        };
        let _ = writeln!(out, "- Run by: {by}");
        let _ = writeln!(
            out,
            "- dr version: {}",
            f["dr_version"].as_str().unwrap_or(NOT_RECORDED)
        );
        let _ = writeln!(out, "- Inventory: {}", code_list(&f["inventory"]));
        let limit = f["limit"]
            .as_str()
            .map_or("none (every host of the plays)".to_owned(), |l| {
                format!("`{l}`")
            });
        let _ = writeln!(out, "- Limit: {limit}");
        let _ = writeln!(
            out,
            "- Extra vars (names only): {}",
            code_list(&f["extra_vars"])
        );
        let _ = writeln!(out, "- Journal: `{}`", path.display());
    }

    fn scenario(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Scenario\n");
        let books: Vec<String> = self.playbooks().iter().map(|b| format!("`{b}`")).collect();
        let _ = writeln!(out, "- Playbooks: {}", books.join(", "));
        let mode = if self.is_plan() {
            "plan (check mode: nothing was changed)"
        } else {
            "apply"
        };
        let _ = writeln!(out, "- Mode: {mode}");
        let _ = writeln!(
            out,
            "\n### Stages\n\n| stage | plays | hosts | started | finished | duration | changes |\n|---|---|---|---|---|---|---|"
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
                span.plays.join(", ").replace('|', "\\|"),
                span.hosts.join(", "),
                span.changed
            );
        }
    }

    fn timeline(&self, out: &mut String) {
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
            let _ = writeln!(
                out,
                "| {} | {} |",
                self.t(e.at),
                line.replace('|', "\\|").replace('\n', " ")
            );
        }
        if let Some(end) = self.end {
            let _ = writeln!(out, "| {} | run finished |", self.t(end.at));
        }
    }

    fn metrics(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Metrics\n");
        let _ = writeln!(out, "{}", self.rto_line());
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
    }

    fn findings_section(&self, out: &mut String, findings: &Findings) {
        let _ = writeln!(out, "\n## Findings\n\n### Failures\n");
        for e in &findings.cut {
            let _ = writeln!(
                out,
                "- `{}` on `{}`: no end recorded (the run was cut off)",
                s(&e.fields["play"]),
                s(&e.fields["host"])
            );
        }
        if findings.failures.is_empty() && findings.cut.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for e in &findings.failures {
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
        let _ = writeln!(out, "\n### Targets\n");
        if findings.targets.is_empty() {
            let _ = writeln!(out, "None missed.");
        }
        for t in &findings.targets {
            let _ = writeln!(out, "- ⚠️ {t}");
        }
        list(out, "Retries", &findings.retries, |e| {
            format!("{}: {}", task_label(e), retry_text(e))
        });
        let slow = fmt_ms(findings.slow_ms);
        list(
            out,
            &format!("Tasks that took {slow} or more"),
            &findings.slow,
            |e| {
                format!(
                    "{}: {} ({})",
                    task_label(e),
                    fmt_ms(e.fields["duration_ms"].as_u64().unwrap_or(0)),
                    s(&e.fields["status"])
                )
            },
        );
        list(
            out,
            &format!("Waits of {slow} or more at sync points"),
            &findings.waits,
            |e| {
                format!(
                    "`{}` waited {} at {}",
                    s(&e.fields["host"]),
                    fmt_ms(e.fields["waited_ms"].as_u64().unwrap_or(0)),
                    s(&e.fields["what"])
                )
            },
        );
    }
}

/// A `###` subsection listing `entries`, or saying there are none.
fn list(out: &mut String, title: &str, entries: &[&Entry], line: impl Fn(&Entry) -> String) {
    let _ = writeln!(out, "\n### {title}\n");
    if entries.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for e in entries {
        let _ = writeln!(out, "- {}", line(e).replace('\n', " "));
    }
}

/// A JSON array of names as `` `a`, `b` ``; "none" when empty, [`NOT_RECORDED`] when absent.
fn code_list(v: &Value) -> String {
    match v.as_array() {
        None => NOT_RECORDED.to_owned(),
        Some(items) if items.is_empty() => "none".to_owned(),
        Some(items) => items
            .iter()
            .map(|i| format!("`{}`", s(i)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
