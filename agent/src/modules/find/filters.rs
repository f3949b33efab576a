//! The tests `find` puts each entry through: its name against `patterns`/`excludes`, its
//! contents against `contains`; and the `statinfo` mapping it reports for a match.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use regex::Regex;
use serde_json::{Map, Value as Json};

use super::super::accounts;
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
    let mode = m.mode();
    let ft = m.file_type();
    let time = |sec: i64, nsec: i64| Json::from(sec as f64 + nsec as f64 * 1e-9);
    let mut out = Map::new();
    out.insert("mode".into(), Json::from(format!("{:04o}", mode & 0o7777)));
    out.insert("isdir".into(), Json::Bool(ft.is_dir()));
    out.insert("ischr".into(), Json::Bool(ft.is_char_device()));
    out.insert("isblk".into(), Json::Bool(ft.is_block_device()));
    out.insert("isreg".into(), Json::Bool(ft.is_file()));
    out.insert("isfifo".into(), Json::Bool(ft.is_fifo()));
    out.insert("islnk".into(), Json::Bool(ft.is_symlink()));
    out.insert("issock".into(), Json::Bool(ft.is_socket()));
    out.insert("uid".into(), Json::from(m.uid()));
    out.insert("gid".into(), Json::from(m.gid()));
    out.insert("size".into(), Json::from(m.size()));
    out.insert("inode".into(), Json::from(m.ino()));
    out.insert("dev".into(), Json::from(m.dev()));
    out.insert("nlink".into(), Json::from(m.nlink()));
    out.insert("atime".into(), time(m.atime(), m.atime_nsec()));
    out.insert("mtime".into(), time(m.mtime(), m.mtime_nsec()));
    out.insert("ctime".into(), time(m.ctime(), m.ctime_nsec()));
    let group = accounts::group_by_gid(m.gid()).map(|g| g.name);
    let user = accounts::user_by_uid(m.uid()).map(|u| u.name);
    out.insert("gr_name".into(), Json::from(group.unwrap_or_default()));
    out.insert("pw_name".into(), Json::from(user.unwrap_or_default()));
    for (key, bit) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        out.insert(key.into(), Json::Bool(mode & bit != 0));
    }
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
