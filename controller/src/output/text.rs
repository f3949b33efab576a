//! Live text output: a line per task result, diffs under changed tasks, node ends, and a
//! summary per host.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use dr_agent::mask::Masker;
use dr_agent::wire::{Event, Mode, Stats, Status};

use super::style::Painter;
use crate::dag::Dag;
use crate::run::{Outcome, RunEvent};

/// Prints run events as they come.
pub struct TextPrinter {
    paint: Painter,
    mode: Mode,
    show_diffs: bool,
    masker: Masker,
    /// `-v`: every result's output in full.
    verbose: bool,
    totals: BTreeMap<String, Stats>,
    failed_hosts: BTreeMap<String, String>,
}

impl TextPrinter {
    /// A printer for a plan (`Mode::Check`, diffs always) or an apply (diffs with `--diff`).
    pub fn new(mode: Mode, show_diffs: bool, masker: Masker) -> Self {
        TextPrinter {
            paint: Painter::detect(),
            mode,
            show_diffs: show_diffs || mode == Mode::Check,
            masker,
            verbose: super::verbosity() > 0,
            totals: BTreeMap::new(),
            failed_hosts: BTreeMap::new(),
        }
    }

    /// The header line.
    pub fn header(&self, dag: &Dag, what: &str) -> String {
        let hosts: std::collections::BTreeSet<&str> =
            dag.nodes.iter().map(|n| n.host.as_str()).collect();
        let mut out = format!(
            "{} {what}: {} node(s) on {} host(s) in {} stage(s)\n",
            self.paint.bold(if self.mode == Mode::Check {
                "dr plan"
            } else {
                "dr apply"
            }),
            dag.nodes.len(),
            hosts.len(),
            dag.stages.len()
        );
        let later = dag.plays.iter().filter(|p| p.deferred).count();
        if later > 0 {
            let _ = writeln!(
                out,
                "  {} play(s) later, with hosts chosen when the run gets there (after `add_host`/`group_by`)",
                later
            );
        }
        // Where hosts wait for each other or another host: the cost of cross-host data.
        for play in dag.plays.iter().filter(|p| !p.sync_points.is_empty()) {
            let points: Vec<String> = play
                .sync_points
                .iter()
                .map(|p| format!("{} at {}", p.what, p.at))
                .collect();
            let _ = writeln!(
                out,
                "  {} `{}`: {} sync point(s): {}",
                self.paint.dim("sync"),
                play.name,
                points.len(),
                points.join("; ")
            );
        }
        out
    }

    /// Text for one event (possibly empty).
    pub fn render(&mut self, dag: &Dag, event: &RunEvent) -> String {
        let mut out = String::new();
        match event {
            RunEvent::NodeStarted { node } => {
                let n = &dag.nodes[*node];
                let _ = writeln!(
                    out,
                    "{} {} {}",
                    self.paint.dim("▸"),
                    self.paint.bold(&n.host),
                    dag.plays[n.play].name
                );
            }
            RunEvent::Agent { node, event } => {
                self.agent_event(&dag.nodes[*node].host, event, &mut out)
            }
            RunEvent::Synced {
                node,
                what,
                waited_ms,
                ..
            } => {
                if self.verbose {
                    let _ = writeln!(
                        out,
                        "  {} {}  {what} (waited {})",
                        self.paint.dim(&format!("{:<14}", "sync")),
                        dag.nodes[*node].host,
                        fmt_ms(*waited_ms)
                    );
                }
            }
            RunEvent::NodeFinished { node, outcome } => {
                let n = &dag.nodes[*node];
                let host = &n.host;
                let play = &dag.plays[n.play].name;
                let entry = self.totals.entry(host.clone()).or_default();
                let s = outcome.stats();
                entry.ok += s.ok;
                entry.changed += s.changed;
                entry.failed += s.failed;
                entry.skipped += s.skipped;
                entry.rescued += s.rescued;
                match outcome {
                    Outcome::Ok(_) => {}
                    Outcome::Skipped(r) => {
                        let _ = writeln!(
                            out,
                            "{} {host} {play}: skipped because {}",
                            self.paint.dim("○"),
                            self.masker.mask(r)
                        );
                    }
                    Outcome::UnreachableIgnored(r, _) => {
                        let _ = writeln!(
                            out,
                            "{} {host} {play}: unreachable, ignored (`ignore_unreachable`): {}",
                            self.paint.dim("○"),
                            self.masker.mask(r)
                        );
                    }
                    other => {
                        let reason = self
                            .masker
                            .mask(other.reason().unwrap_or_default())
                            .into_owned();
                        self.failed_hosts.insert(host.clone(), reason.clone());
                        let _ = writeln!(
                            out,
                            "{} {host} {play}: {}: {reason}",
                            self.paint.failed("✗"),
                            other.word()
                        );
                    }
                }
            }
        }
        out
    }

    fn agent_event(&self, host: &str, event: &Event, out: &mut String) {
        match event {
            Event::TaskResult {
                name,
                item,
                status,
                msg,
                diffs,
                detail,
                ignored,
                dangerous,
                duration_ms,
                on,
                ..
            } => {
                // Ansible's `host -> delegate`: where the task really ran.
                let host = match on {
                    Some(other) => format!("{host} -> {other}"),
                    None => host.to_owned(),
                };
                // Pad before painting: colour codes would count towards the width.
                let pad = |w: &str| format!("{w:<14}");
                let word = match (status, self.mode) {
                    (Status::Ok, _) => self.paint.ok(&pad("ok")),
                    (Status::Changed, Mode::Check) => self.paint.changed(&pad("would change")),
                    (Status::Changed, Mode::Apply) => self.paint.changed(&pad("changed")),
                    (Status::Failed, _) if *ignored && detail.contains_key("unreachable") => {
                        self.paint.dim(&pad("unreachable, ignored"))
                    }
                    (Status::Failed, _) if *ignored => self.paint.dim(&pad("failed (ignored)")),
                    (Status::Failed, _) => self.paint.failed(&pad("FAILED")),
                    (Status::Skipped, _) => self.paint.dim(&pad("skipped")),
                };
                let item = item
                    .as_ref()
                    .map(|i| format!(" ({})", self.masker.mask(i)))
                    .unwrap_or_default();
                let danger = if *dangerous {
                    self.paint.failed(" [DESTRUCTIVE]")
                } else {
                    String::new()
                };
                let _ = write!(
                    out,
                    "  {word} {host}  {}{item}{danger}",
                    self.masker.mask(name)
                );
                let _ = writeln!(
                    out,
                    " {}",
                    self.paint.dim(&format!("({})", fmt_ms(*duration_ms)))
                );
                let show_msg = !msg.is_empty()
                    && (matches!(status, Status::Failed)
                        || (*status == Status::Changed && self.mode == Mode::Check)
                        || *dangerous);
                if show_msg {
                    for line in self.masker.mask(msg).lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
                // What the module or a test warned about, at every verbosity.
                let warnings = detail.get("warnings").and_then(serde_json::Value::as_array);
                for warning in warnings.into_iter().flatten().filter_map(|w| w.as_str()) {
                    let text = format!("warning: {}", self.masker.mask(warning));
                    let _ = writeln!(out, "      {}", self.paint.changed(&text));
                }
                if self.verbose {
                    // A failure's message already says why, with the output's tail; `-v`
                    // adds what it left out.
                    // Bytes (`!!binary`) as Ansible's display shows them.
                    let detail = self.masker.mask_value(
                        &dr_agent::pybytes::for_display(&serde_json::Value::Object(detail.clone()))
                            .0,
                    );
                    let shown = match detail {
                        serde_json::Value::Object(d) if *status == Status::Failed => {
                            full_output(&d)
                        }
                        serde_json::Value::Object(d) => d,
                        _ => serde_json::Map::new(),
                    };
                    for line in dr_agent::detail::lines(&shown, None) {
                        let _ = writeln!(out, "      {}", self.paint.dim(&line));
                    }
                }
                if self.show_diffs && *status == Status::Changed {
                    for d in diffs.iter().filter(|d| d.text.trim() != msg.trim()) {
                        out.push_str(&self.paint.diff(&self.masker.mask(&d.text), "      "));
                    }
                }
            }
            Event::Message { text } => {
                for line in self.masker.mask(text).lines() {
                    let _ = writeln!(
                        out,
                        "  {} {host}  {line}",
                        self.paint.dim(&format!("{:<14}", "msg"))
                    );
                }
            }
            Event::TaskStart { .. }
            | Event::Finished { .. }
            | Event::Sync { .. }
            | Event::Flushing => {}
        }
    }

    /// Per-host totals and the final verdict.
    pub fn summary(&self, changes: u32, elapsed: Duration, journal: Option<&str>) -> String {
        let mut out = String::from("\n");
        let _ = writeln!(out, "{}", self.paint.bold("Summary"));
        for (host, s) in &self.totals {
            // `rescued` only where a block rescued something, so plain plays read as before.
            let rescued = if s.rescued > 0 {
                format!("    rescued={}", s.rescued)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {host:<24} ok={:<4} changed={:<4} failed={:<4} skipped={}{rescued}",
                s.ok, s.changed, s.failed, s.skipped
            );
        }
        let failures = self.failed_hosts.len();
        let verdict = match (self.mode, changes, failures) {
            (_, _, f) if f > 0 => self.paint.failed(&format!("{f} host(s) failed.")),
            (Mode::Check, 0, _) => self.paint.ok("No changes. The hosts match the playbooks."),
            (Mode::Check, n, _) => self.paint.changed(&format!("Plan: {n} change(s).")),
            (Mode::Apply, n, _) => self.paint.ok(&format!("Applied: {n} change(s).")),
        };
        let _ = writeln!(out, "{verdict} ({})", fmt_ms(elapsed.as_millis() as u64));
        if let Some(j) = journal {
            let _ = writeln!(out, "{}", self.paint.dim(&format!("journal: {j}")));
        }
        out
    }
}

/// The output streams of a failure's detail that its message showed only the tail of.
fn full_output(
    detail: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    detail
        .iter()
        .filter(|(k, v)| {
            matches!(k.as_str(), "stdout" | "stderr")
                && v.as_str()
                    .is_some_and(|s| s.lines().count() > dr_agent::detail::TAIL_LINES)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `850 ms`, `3.2 s`, `2m05s`.
pub fn fmt_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}
