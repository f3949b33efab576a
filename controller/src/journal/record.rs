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

/// Reads every line of a journal. A malformed line is an error naming the file and line.
pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read journal `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )
    })?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| format!("`{}`:{}: not a journal line ({why})", path.display(), n + 1);
        let fields: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let at = fields["at"].as_str().ok_or_else(|| bad("no `at`"))?;
        let at = OffsetDateTime::parse(at, &Rfc3339).map_err(|e| bad(&e.to_string()))?;
        let kind = fields["event"]
            .as_str()
            .ok_or_else(|| bad("no `event`"))?
            .to_owned();
        entries.push(Entry { at, kind, fields });
    }
    Ok(entries)
}
