//! Reading a journal back, for `dr report`.

use std::path::Path;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One journal line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// When.
    pub at: OffsetDateTime,
    /// `run_start`, `dag`, `node_start`, `task_start`, `task_end`, `node_end`, `run_end`, ...
    pub kind: String,
    /// The whole line.
    pub fields: Value,
}

/// A journal as read back.
#[derive(Debug, Clone)]
pub struct Journal {
    /// Its lines, in order.
    pub entries: Vec<Entry>,
    /// The last line was cut off (the run was killed while writing it) and was left out.
    pub cut_last_line: bool,
}

/// Reads every line of a journal. A malformed line is an error naming the file and line,
/// except the last one when it is cut off (no newline at its end): a run killed in the
/// middle of a write leaves that, and everything before it is still the record.
pub fn read(path: &Path) -> Result<Journal, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read journal `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )
    })?;
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    let count = text.lines().count();
    let mut entries = Vec::new();
    let mut cut_last_line = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if unterminated && n + 1 == count => cut_last_line = true,
            Err(why) => {
                return Err(format!(
                    "`{}`:{}: not a journal line ({why})",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    Ok(Journal {
        entries,
        cut_last_line,
    })
}

fn parse(line: &str) -> Result<Entry, String> {
    let fields: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let at = fields["at"].as_str().ok_or("no `at`")?;
    let at = OffsetDateTime::parse(at, &Rfc3339).map_err(|e| e.to_string())?;
    let kind = fields["event"].as_str().ok_or("no `event`")?.to_owned();
    Ok(Entry { at, kind, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"at":"2026-11-28T10:00:00.000Z","event":"run_start","mode":"apply"}"#;

    #[test]
    fn a_cut_last_line_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, format!("{LINE}\n{{\"at\":\"2026-11")).unwrap();
        let j = read(&path).unwrap();
        assert_eq!(j.entries.len(), 1);
        assert!(j.cut_last_line);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, format!("{LINE}\nnot json\n{LINE}\n")).unwrap();
        let e = read(&path).unwrap_err();
        assert!(
            e.ends_with(":2: not a journal line (expected ident at line 1 column 2)"),
            "{e}"
        );
    }
}
