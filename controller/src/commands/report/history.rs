//! `dr report --history`: every run in the journal directory, oldest first, one row each —
//! a trend of the measured RTO and RPO. A journal that cannot be read is listed with why.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Report;
use crate::journal;
use crate::output::text::fmt_ms;

/// One run's figures, kept after its journal is dropped.
pub(super) struct RunSummary {
    pub started: OffsetDateTime,
    pub finished: Option<OffsetDateTime>,
    /// The playbooks as given on the command line.
    pub playbooks: Vec<String>,
    /// `plan` or `apply`.
    pub mode: String,
    pub rto_secs: Option<f64>,
    pub rto_target: Option<String>,
    pub rto_target_secs: Option<f64>,
    pub rto_met: Option<bool>,
    pub rpo_secs: Option<f64>,
    pub rpo_target: Option<String>,
    pub rpo_target_secs: Option<f64>,
    pub rpo_met: Option<bool>,
    /// The report's verdict (`success`, `failed`, `interrupted`, `incomplete (...)`).
    pub result: &'static str,
    pub succeeded: bool,
}

impl RunSummary {
    fn of(report: &Report) -> RunSummary {
        let f = &report.start.fields;
        RunSummary {
            started: report.start.at,
            finished: report.end.map(|e| e.at),
            playbooks: report.playbooks(),
            mode: report.mode(),
            rto_secs: report.rto_secs(),
            rto_target: f["rto_target"].as_str().map(str::to_owned),
            rto_target_secs: report.target_secs(),
            rto_met: report.rto_met(),
            rpo_secs: report.rpo_secs(),
            rpo_target: f["rpo_target"].as_str().map(str::to_owned),
            rpo_target_secs: report.rpo_target_secs(),
            rpo_met: report.rpo_met(),
            result: report.verdict(),
            succeeded: report.succeeded(),
        }
    }

    /// The playbooks' file names, without their directories: what metrics label a run with.
    pub fn playbook_label(&self) -> String {
        self.playbooks
            .iter()
            .map(|p| {
                Path::new(p)
                    .file_name()
                    .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A journal of the directory: its figures, or why it cannot be read.
pub(super) struct Run {
    pub path: PathBuf,
    pub summary: Result<RunSummary, String>,
}

/// Reads every journal in `paths` (already oldest first).
pub(super) fn read_all(paths: &[PathBuf]) -> Vec<Run> {
    paths
        .iter()
        .map(|path| Run {
            path: path.clone(),
            summary: journal::read(path).and_then(|j| {
                Report::from_journal(&j)
                    .map(|r| RunSummary::of(&r))
                    .ok_or_else(|| "no `run_start` line: not a dr journal".to_owned())
            }),
        })
        .collect()
}

/// The history as a JSON array, oldest first.
pub(super) fn to_json(runs: &[Run]) -> Value {
    Value::Array(
        runs.iter()
            .map(|run| {
                let journal = run.path.display().to_string();
                match &run.summary {
                    Err(why) => json!({"journal": journal, "error": why}),
                    Ok(r) => json!({
                        "journal": journal,
                        "started": journal::timestamp(r.started),
                        "finished": r.finished.map(journal::timestamp),
                        "playbooks": r.playbooks,
                        "mode": r.mode,
                        "result": r.result,
                        "success": r.succeeded,
                        "rto_secs": r.rto_secs,
                        "rto_target_secs": r.rto_target_secs,
                        "rto_met": r.rto_met,
                        "rpo_secs": r.rpo_secs,
                        "rpo_target_secs": r.rpo_target_secs,
                        "rpo_met": r.rpo_met,
                    }),
                }
            })
            .collect(),
    )
}

/// The history as a Markdown table, oldest first.
pub(super) fn markdown(runs: &[Run], dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Drill history: `{}`\n", dir.display());
    if runs.is_empty() {
        let _ = writeln!(out, "No journals: run `dr apply` first.");
        return out;
    }
    let _ = writeln!(
        out,
        "| started | playbook | mode | RTO | RPO | result |\n|---|---|---|---|---|---|"
    );
    for run in runs {
        let row = match &run.summary {
            Err(why) => format!(
                "| - | `{}` | - | - | - | unreadable: {} |",
                run.path
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                why.replace('|', "\\|")
            ),
            Ok(r) => format!(
                "| {} | {} | {} | {} | {} | {} |",
                journal::timestamp(r.started),
                r.playbooks
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" "),
                r.mode,
                measured(r.rto_secs, r.rto_target.as_deref(), r.rto_met),
                measured(r.rpo_secs, r.rpo_target.as_deref(), r.rpo_met),
                r.result
            ),
        };
        let _ = writeln!(out, "{}", row.replace('\n', " "));
    }
    out
}

/// `1.2s (target 1m ✅)`, `-` when nothing was measured.
fn measured(secs: Option<f64>, target: Option<&str>, met: Option<bool>) -> String {
    let Some(secs) = secs else {
        return "-".to_owned();
    };
    let value = fmt_ms((secs * 1000.0).round() as u64);
    match (target, met) {
        (Some(t), Some(true)) => format!("{value} (target {t} ✅)"),
        (Some(t), _) => format!("{value} (target {t} ⚠️)"),
        (None, _) => value,
    }
}
