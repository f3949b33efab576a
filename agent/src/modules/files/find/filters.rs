//! The tests `find` puts each entry through: its name against `patterns`/`excludes`, its
//! contents against `contains`; and the `statinfo` mapping it reports for a match.

use std::fs::Metadata;
use std::io;

use regex::Regex;
use serde_json::{Map, Value as Json};

use super::super::replace::pyre;
use super::super::unarchive::select::fnmatch;
use super::spec::Encoding;

/// A Python regular expression used as `re.match` (anchored at the start) or `re.search`.
pub(super) struct PyRegex {
    re: Regex,
    /// Whether the pattern may end-anchor (`$`), which Python lets match before a final
    /// newline.
    dollar: bool,
}

impl PyRegex {
    /// Compiles `pattern`; `anchored` for `re.match`.
    pub(super) fn new(pattern: &str, anchored: bool) -> Result<PyRegex, String> {
        let translated = pyre::translate(pattern, true)?;
        let full = if anchored {
            format!("^(?:{translated})")
        } else {
            translated
        };
        let re = Regex::new(&full)
            .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))?;
        Ok(PyRegex {
            re,
            dollar: pattern.contains('$') && !pattern.contains("\\Z"),
        })
    }

    /// Whether Python would find a match in `text`.
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.re.is_match(text)
            || (self.dollar && text.strip_suffix('\n').is_some_and(|t| self.re.is_match(t)))
    }
}

/// How names are matched: shell globs (`fnmatch`) or Python regexes.
pub(super) enum NameFilter {
    Glob {
        patterns: Vec<String>,
        excludes: Vec<String>,
    },
    Regex {
        patterns: Vec<PyRegex>,
        excludes: Vec<PyRegex>,
    },
}

impl NameFilter {
    /// Ansible's `pfilter`: some pattern matches and, when it does, no exclude does.
    pub(super) fn accepts(&self, name: &str) -> bool {
        match self {
            NameFilter::Glob { patterns, excludes } => {
                patterns.iter().any(|p| fnmatch(p, name))
                    && !excludes.iter().any(|e| fnmatch(e, name))
            }
            NameFilter::Regex { patterns, excludes } => {
                patterns.iter().any(|p| p.is_match(name))
                    && !excludes.iter().any(|e| e.is_match(name))
            }
        }
    }
}

/// `contains`: a regex matched at the start of some line, or searched in the whole text.
pub(super) struct Contains {
    pub re: PyRegex,
    pub whole_file: bool,
    pub encoding: Encoding,
    /// The encoding as written, for the decode error message.
    pub encoding_name: Option<String>,
}

impl Contains {
    /// Ansible's `contentfilter`: unreadable files do not match; undecodable ones fail the
    /// path with Ansible's message.
    pub(super) fn matches(&self, fsname: &str, bytes: io::Result<Vec<u8>>) -> Result<bool, String> {
        let Ok(bytes) = bytes else {
            return Ok(false);
        };
        let Some(text) = self.encoding.decode(&bytes) else {
            let current = self.encoding_name.clone().unwrap_or_else(|| {
                "None (default determined by the Python built-in function \"open\")".to_owned()
            });
            return Err(format!(
                "Failed to read the file {fsname} due to an encoding error. current encoding: {current}"
            ));
        };
        // Text mode's universal newlines: `\r\n` and `\r` read as `\n`.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.whole_file {
            return Ok(self.re.is_match(&text));
        }
        Ok(text
            .split_inclusive('\n')
            .any(|line| self.re.is_match(line)))
    }
}

/// Ansible's `statinfo` for one entry (its `lstat`).
pub(super) fn statinfo(m: &Metadata) -> Map<String, Json> {
    let mut out = Map::new();
    super::super::stat::stat_keys(&mut out, m, true);
    out
}

/// An `OSError` as Python's `str()` writes it: `[Errno 13] Permission denied: '/x'`.
pub(super) fn os_error(e: &io::Error, path: &str) -> String {
    let text = e.to_string();
    let message = text
        .rfind(" (os error ")
        .map_or(text.as_str(), |i| &text[..i]);
    match e.raw_os_error() {
        Some(n) => format!("[Errno {n}] {message}: '{path}'"),
        None => format!("{message}: '{path}'"),
    }
}
