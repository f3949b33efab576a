//! `dr report`: what the run journals say. One run as a drill report (Markdown or JSON),
//! every run as a trend (`--history`), or node_exporter textfile-collector metrics
//! (`--format prometheus`).

mod findings;
mod history;
mod markdown;
mod prometheus;
mod summary;

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::{ReportArgs, ReportFormat};
use crate::config::Config;
use crate::journal;

use summary::Report;

/// Tasks at least this long are findings unless `--slow` says otherwise.
const DEFAULT_SLOW_SECS: f64 = 10.0;

/// Prints the report.
pub fn run(args: &ReportArgs) -> Result<i32, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
    let config = Config::discover(&cwd)?;
    let dir = config.journal_dir();
    let every_run = args.history || args.format == ReportFormat::Prometheus;
    if every_run {
        if let Some(run) = &args.run {
            return Err(Error::Message(format!(
                "`{run}`: `--history` and `--format prometheus` read every journal in `{}`, not one run",
                dir.display()
            )));
        }
        if args.slow.is_some() {
            return Err(Error::Message(
                "`--slow` sets what the findings of one run's report count as slow; `--history` and `--format prometheus` have no findings".into(),
            ));
        }
        let runs = history::read_all(&journals(&dir)?);
        match args.format {
            ReportFormat::Prometheus => crate::out!(
                "{}",
                prometheus::render(&runs, time::OffsetDateTime::now_utc())
            ),
            ReportFormat::Json => crate::outln!(
                "{}",
                serde_json::to_string_pretty(&history::to_json(&runs)).unwrap_or_default()
            ),
            ReportFormat::Text => crate::out!("{}", history::markdown(&runs, &dir)),
        }
        return Ok(0);
    }
    let slow_ms = seconds_to_ms(args.slow.unwrap_or(DEFAULT_SLOW_SECS))?;
    let path = find_journal(&dir, args.run.as_deref())?;
    let journal = journal::read(&path).map_err(Error::Message)?;
    let report = Report::from_journal(&journal).ok_or_else(|| not_a_journal(&path))?;
    match args.format {
        ReportFormat::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&report.to_json(&path, slow_ms)).unwrap_or_default()
        ),
        _ => crate::out!("{}", report.markdown(&path, slow_ms)),
    }
    Ok(0)
}

fn seconds_to_ms(secs: f64) -> Result<u64, Error> {
    if !(0.0..=1e9).contains(&secs) {
        return Err(Error::Message(format!(
            "`--slow {secs}`: not a number of seconds (0 or more)"
        )));
    }
    Ok((secs * 1000.0).round() as u64)
}

/// Why a file that parsed is not a journal.
fn not_a_journal(path: &Path) -> Error {
    Error::Message(format!(
        "`{}` has no `run_start` line: not a dr journal",
        path.display()
    ))
}

/// Every journal in `dir`, oldest first (names start with the run's UTC start time, fixed
/// width). No directory is no runs.
fn journals(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Message(format!(
                "cannot read the journal directory `{}`: {}",
                dir.display(),
                crate::diagnostic::io_reason(&e)
            )));
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

fn find_journal(dir: &Path, run: Option<&str>) -> Result<PathBuf, Error> {
    if let Some(r) = run {
        let direct = PathBuf::from(r);
        if direct.is_file() {
            return Ok(direct);
        }
    }
    let mut files: Vec<PathBuf> = journals(dir)?
        .into_iter()
        .filter(|p| {
            run.is_none_or(|r| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(r))
            })
        })
        .collect();
    // The last is the latest run, plan or apply.
    files.pop().ok_or_else(|| match run {
        Some(r) => Error::Message(format!("no journal `{r}` in `{}`", dir.display())),
        None => Error::Message(format!(
            "no journals in `{}`: run `dr apply` first",
            dir.display()
        )),
    })
}
