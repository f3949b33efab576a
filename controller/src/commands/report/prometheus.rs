//! `dr report --format prometheus`: node_exporter textfile-collector metrics from every
//! journal, so a team can alert on drills that fail, miss their targets or stop happening:
//! `time() - dr_last_success_timestamp_seconds{playbook="restore_test.yml"} > 35*86400`.
//!
//! Only applies count (a plan is no drill). A run is labelled with its playbooks' file
//! names. A backup job is a playbook whose file name starts with `backup` (`backup_dump.yml`):
//! `dr_backup_age_seconds` is the age of its last successful apply when the metrics were
//! written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use super::history::{Run, RunSummary};

/// The figures of one playbook (label), from its applies, oldest first.
#[derive(Default)]
struct Playbook<'a> {
    last: Option<&'a RunSummary>,
    last_success: Option<&'a RunSummary>,
    /// The last apply that measured an RPO (a `recovery_point` task reported).
    last_rpo: Option<&'a RunSummary>,
}

/// The metrics, with `now` for the backup age.
pub(super) fn render(runs: &[Run], now: OffsetDateTime) -> String {
    let mut books: BTreeMap<String, Playbook> = BTreeMap::new();
    for r in runs.iter().filter_map(|r| r.summary.as_ref().ok()) {
        if r.mode != "apply" {
            continue;
        }
        let book = books.entry(r.playbook_label()).or_default();
        book.last = Some(r);
        if r.succeeded {
            book.last_success = Some(r);
        }
        if r.rpo_secs.is_some() {
            book.last_rpo = Some(r);
        }
    }
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (label, value) in samples {
            let _ = writeln!(
                out,
                "{name}{{playbook=\"{}\"}} {}",
                escape(&label),
                number(value)
            );
        }
    };
    let each = |pick: &dyn Fn(&Playbook) -> Option<f64>| -> Vec<(String, f64)> {
        books
            .iter()
            .filter_map(|(label, b)| pick(b).map(|v| (label.clone(), v)))
            .collect()
    };
    family(
        "dr_last_run_timestamp_seconds",
        "Start of the last dr apply of the playbook (Unix time).",
        each(&|b| b.last.map(|r| unix(r.started))),
    );
    family(
        "dr_last_run_success",
        "Whether the last dr apply of the playbook succeeded (1) or not (0: failed, interrupted or cut off).",
        each(&|b| b.last.map(|r| f64::from(u8::from(r.succeeded)))),
    );
    family(
        "dr_last_success_timestamp_seconds",
        "Start of the last successful dr apply of the playbook (Unix time).",
        each(&|b| b.last_success.map(|r| unix(r.started))),
    );
    family(
        "dr_last_rto_seconds",
        "Measured RTO of the last successful dr apply of the playbook: its run_start to run_end.",
        each(&|b| b.last_success.and_then(|r| r.rto_secs)),
    );
    family(
        "dr_rto_target_seconds",
        "rto_target of the last dr apply of the playbook.",
        each(&|b| b.last.and_then(|r| r.rto_target_secs)),
    );
    family(
        "dr_last_rpo_seconds",
        "Measured RPO of the last dr apply of the playbook that recorded one (recovery_point): incident time minus the time data was restored to.",
        each(&|b| b.last_rpo.and_then(|r| r.rpo_secs)),
    );
    family(
        "dr_rpo_target_seconds",
        "rpo_target of the last dr apply of the playbook.",
        each(&|b| b.last.and_then(|r| r.rpo_target_secs)),
    );
    let backups: Vec<(String, f64)> = books
        .iter()
        .filter(|(label, _)| is_backup(label))
        .filter_map(|(label, b)| {
            let r = b.last_success?;
            let end = r.finished.unwrap_or(r.started);
            Some((label.clone(), (now - end).as_seconds_f64().max(0.0)))
        })
        .collect();
    family(
        "dr_backup_age_seconds",
        "Seconds from the end of the last successful apply of a backup playbook (file name starting with backup) to when these metrics were written.",
        backups,
    );
    let unreadable = runs.iter().filter(|r| r.summary.is_err()).count();
    let _ = writeln!(
        out,
        "# HELP dr_journals_unreadable Journals in the journal directory that cannot be read (dr report --history says why).\n# TYPE dr_journals_unreadable gauge\ndr_journals_unreadable {unreadable}"
    );
    out
}

/// A backup job: the first playbook's file name starts with `backup`.
fn is_backup(label: &str) -> bool {
    label.to_ascii_lowercase().starts_with("backup")
}

fn unix(at: OffsetDateTime) -> f64 {
    at.unix_timestamp_nanos() as f64 / 1e9
}

/// A sample value as the exposition format writes it (millisecond precision is what the
/// journal has).
fn number(v: f64) -> String {
    let rounded = (v * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

/// A label value escaped as the exposition format requires: `\`, `"` and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn a_backup_job_is_named_so() {
        assert!(is_backup("backup_dump.yml"));
        assert!(is_backup("Backup.yml"));
        assert!(!is_backup("restore_test.yml"));
    }

    #[test]
    fn values_keep_milliseconds_and_no_exponent() {
        assert_eq!(number(1_764_412_345.678_9), "1764412345.679");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.0), "1");
    }
}
