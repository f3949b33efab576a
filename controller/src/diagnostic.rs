//! Errors that point at a place in a file: `file:line:col`, the source line and a caret.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A place in a source file. Lines and columns count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// The file as the user named it (relative paths stay relative).
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl Loc {
    /// A location.
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
        Loc { file, line, col }
    }

    /// A location as [`Display`](fmt::Display) writes it (`file:line:col`), e.g. a task's
    /// `location`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some(Loc::new(Arc::from(parts.next()?), line, col))
    }

    /// The start of a file, for errors about a whole file.
    pub fn file_start(file: &Path) -> Self {
        Loc::new(Arc::from(file.display().to_string()), 1, 1)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// An error at a location, with an optional hint on what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub loc: Loc,
    /// What is wrong: a lowercase phrase, names in backticks.
    pub message: String,
    /// What to do about it ("did you mean `copy`?").
    pub help: Option<String>,
    /// Other places that belong to the error (the rest of a cycle, the first definition).
    pub related: Vec<(Loc, String)>,
}

impl Diagnostic {
    /// An error at `loc`.
    pub fn new(loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic {
            loc,
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a hint only when there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Adds a related place.
    pub fn with_related(mut self, loc: Loc, note: impl Into<String>) -> Self {
        self.related.push((loc, note.into()));
        self
    }

    /// A file could not be read.
    pub fn io(file: &Path, err: &std::io::Error) -> Self {
        Diagnostic::new(
            Loc::file_start(file),
            format!("cannot read `{}`: {}", file.display(), io_reason(err)),
        )
    }
}

/// The OS reason without Rust's "(os error 2)" suffix.
pub fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text.to_lowercase(),
    }
}

impl std::error::Error for Diagnostic {}

impl Diagnostic {
    /// What [`Display`](fmt::Display) writes after the message: the places with their
    /// source lines, and the hint (for a caller that shows the message its own way).
    pub fn snippet(&self) -> String {
        struct Snippet<'a>(&'a Diagnostic);
        impl fmt::Display for Snippet<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_places(f)
            }
        }
        Snippet(self).to_string()
    }

    fn write_places(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_snippet(f, &self.loc, None)?;
        for (loc, note) in &self.related {
            write_snippet(f, loc, Some(note))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        self.write_places(f)
    }
}

/// Writes `--> file:line:col`, then the source line with a caret under the column (when the
/// file can still be read).
fn write_snippet(f: &mut fmt::Formatter<'_>, loc: &Loc, note: Option<&str>) -> fmt::Result {
    let gutter = loc.line.to_string().len();
    let pad = " ".repeat(gutter);
    match note {
        Some(note) => write!(f, "\n{pad}--> {loc}: {note}")?,
        None => write!(f, "\n{pad}--> {loc}")?,
    }
    let Some(line) = source_line(&loc.file, loc.line) else {
        return Ok(());
    };
    let caret_pad: String = line
        .chars()
        .take(loc.col.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    write!(f, "\n{pad} |\n{} | {line}\n{pad} | {caret_pad}^", loc.line)
}

fn source_line(file: &str, line: u32) -> Option<String> {
    if file.is_empty() || line == 0 {
        return None;
    }
    // Bounded: the file may be a device (`-e @/dev/zero`) or huge; a line longer than a
    // screen's worth is not worth showing.
    use std::io::{BufRead as _, Read as _};
    const MAX_SHOWN: usize = 4096;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file)
            .ok()?
            .take(crate::input_file::MAX_BYTES),
    );
    let raw = reader.split(b'\n').nth(line as usize - 1)?.ok()?;
    if raw.len() > MAX_SHOWN {
        return None;
    }
    String::from_utf8(raw).ok().map(|l| l.trim_end().to_owned())
}

/// "did you mean `x`?" for the candidate closest to `wanted`, if one is close enough.
pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(wanted, candidate);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, name)| format!("did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_source_line_and_caret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yml");
        std::fs::write(&file, "- hosts: all\n  tasks:\n    - cpoy: {}\n").unwrap();
        let loc = Loc::new(Arc::from(file.display().to_string()), 3, 7);
        let d = Diagnostic::new(loc, "unknown module `cpoy`").with_help("did you mean `copy`?");
        let text = d.to_string();
        assert!(text.starts_with("unknown module `cpoy`\n --> "), "{text}");
        assert!(text.contains("\n3 |     - cpoy: {}\n  |       ^"), "{text}");
        assert!(text.ends_with("= help: did you mean `copy`?"), "{text}");
    }

    #[test]
    fn suggestions_need_a_near_name() {
        assert_eq!(
            did_you_mean("cpoy", ["copy", "file"]).as_deref(),
            Some("did you mean `copy`?")
        );
        assert_eq!(did_you_mean("zzz", ["copy", "file"]), None);
    }
}
