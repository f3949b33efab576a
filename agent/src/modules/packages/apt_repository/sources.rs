//! One-line apt sources (`sources.list` and `sources.list.d/*.list`) read, edited and
//! written back as Ansible's `apt_repository` does: every line normalised on save
//! (`# ` before disabled lines, single spaces inside a source, ` # ` before a comment).

use std::path::{Path, PathBuf};

/// Source types a one-line source may start with.
const TYPES: &[&str] = &["deb", "deb-src"];

/// One line of a sources file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// A source (`deb ...`), enabled or not.
    pub valid: bool,
    pub enabled: bool,
    /// The source, or the line's text when not a source.
    pub source: String,
    pub comment: String,
}

impl Line {
    /// Ansible's `_parse` of one line.
    pub fn parse(line: &str) -> Line {
        let mut enabled = true;
        let mut line = line.trim();
        if let Some(rest) = line.strip_prefix('#') {
            enabled = false;
            line = rest;
        }
        let mut comment = String::new();
        if let Some(i) = line.find('#')
            && i > 0
        {
            comment = line[i + 1..].trim().to_owned();
            line = &line[..i];
        }
        let mut source = line.trim().to_owned();
        let chunks: Vec<&str> = source.split_whitespace().collect();
        let valid = chunks.first().is_some_and(|c| TYPES.contains(c));
        if valid {
            source = chunks.join(" ");
        }
        Line {
            valid,
            enabled,
            source,
            comment,
        }
    }

    /// The line as Ansible writes it back.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        if !self.enabled {
            s.push_str("# ");
        }
        s.push_str(&self.source);
        if !self.comment.is_empty() {
            s.push_str(" # ");
            s.push_str(&self.comment);
        }
        s.push('\n');
        s
    }
}

/// Every sources file apt reads, in order, with its lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    pub files: Vec<(PathBuf, Vec<Line>)>,
}

impl Sources {
    /// Reads `list` (when it exists) and `parts/*.list`.
    pub fn load(list: &Path, parts: &Path) -> std::io::Result<Sources> {
        let mut paths = Vec::new();
        if list.is_file() {
            paths.push(list.to_path_buf());
        }
        if let Ok(entries) = std::fs::read_dir(parts) {
            let mut more: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "list"))
                .collect();
            more.sort();
            paths.extend(more);
        }
        let mut files = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p)?;
            files.push((p, text.lines().map(Line::parse).collect()));
        }
        Ok(Sources { files })
    }

    /// Each file's text as it would be written; files left with no line are absent.
    pub fn dump(&self) -> Vec<(PathBuf, String)> {
        self.files
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(p, lines)| (p.clone(), lines.iter().map(Line::dump).collect()))
            .collect()
    }

    /// Adds `source` (enabling every copy already there, disabled or not), else appends
    /// it to `file`. Returns whether it was appended to `file`.
    pub fn add(&mut self, source: &str, file: &Path) -> bool {
        let mut found = false;
        for (_, lines) in &mut self.files {
            for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
                l.enabled = true;
                found = true;
            }
        }
        if found {
            return false;
        }
        let line = Line {
            valid: true,
            enabled: true,
            source: source.to_owned(),
            comment: String::new(),
        };
        match self.files.iter_mut().find(|(p, _)| p == file) {
            Some((_, lines)) => lines.push(line),
            None => self.files.push((file.to_path_buf(), vec![line])),
        }
        true
    }

    /// Removes every enabled line holding `source`.
    pub fn remove(&mut self, source: &str) {
        for (_, lines) in &mut self.files {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
}

/// Ansible's file name for a new source: `filename`, or the source's first URI with
/// options, scheme and credentials dropped and every run of other characters made `_`;
/// then `.list`.
pub fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(f) = filename {
        return format!("{f}.list");
    }
    let no_options = regex::Regex::new(r"\[[^\]]+\]")
        .map(|r| r.replace_all(source, "").into_owned())
        .unwrap_or_else(|_| source.to_owned());
    let no_scheme = regex::Regex::new(r"\w+://")
        .map(|r| r.replace_all(&no_options, "").into_owned())
        .unwrap_or(no_options);
    let first = no_scheme
        .split_whitespace()
        .find(|p| !TYPES.contains(p))
        .unwrap_or("");
    let first = first.split_once('@').map_or(first, |(_, host)| host);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_dump_as_ansibles() {
        let l = Line::parse("#deb  http://x/debian   bookworm main #note\n");
        assert!(l.valid && !l.enabled);
        assert_eq!(l.dump(), "# deb http://x/debian bookworm main # note\n");
        assert_eq!(Line::parse("").dump(), "\n");
        assert_eq!(Line::parse("# just a comment").dump(), "# just a comment\n");
    }

    #[test]
    fn file_names_are_suggested_as_ansibles() {
        assert_eq!(
            suggest_filename(
                "deb [arch=amd64] https://user:pw@download.example.com/linux/debian bookworm stable",
                None
            ),
            "download_example_com_linux_debian.list"
        );
        assert_eq!(
            suggest_filename("deb http://x y", Some("mine")),
            "mine.list"
        );
        assert_eq!(
            suggest_filename("deb file:/tmp/repo ./", None),
            "file_tmp_repo.list"
        );
    }
}
