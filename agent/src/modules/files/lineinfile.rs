//! `lineinfile`: ensure one line is (or is not) in a file, byte for byte as Ansible does.
//!
//! The algorithm follows Ansible's `lineinfile.py` step by step (same branch order, same
//! newline handling) because operators compare the files the two tools write.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::attrs::{AttrSpec, FileMode};
use super::content::{Before, FileWrite, read_current};
use super::path_arg;
use super::pyregex::{Hit, LineRegex, PyRegexError};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `lineinfile` module.
pub struct LineInFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineInFileSpec {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    #[serde(alias = "regex")]
    regexp: Option<String>,
    search_string: Option<String>,
    #[serde(alias = "value")]
    line: Option<Json>,
    #[serde(default)]
    state: State,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    create: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    backrefs: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    firstmatch: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    validate: Option<String>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "path",
            "dest",
            "destfile",
            "name",
            "regexp",
            "regex",
            "search_string",
            "line",
            "value",
            "state",
            "insertafter",
            "insertbefore",
            "create",
            "backrefs",
            "firstmatch",
            "backup",
            "validate",
            "mode",
            "owner",
            "group",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut spec: LineInFileSpec = parse_args("lineinfile", args)?;
        // `type='path'` in Ansible's module: `~` and `$VAR` expanded before any use.
        spec.path = path_arg::expand(&spec.path, ctx.environment);
        let bad = |m: &str| ModuleError::from(ArgsError::new("lineinfile", m));
        if spec.regexp.is_some() && spec.search_string.is_some() {
            return Err(bad("`regexp` and `search_string` are mutually exclusive"));
        }
        if spec.insertafter.is_some() && spec.insertbefore.is_some() {
            return Err(bad(
                "`insertafter` and `insertbefore` are mutually exclusive",
            ));
        }
        if spec.backrefs && spec.regexp.is_none() {
            return Err(bad("`backrefs` needs `regexp`"));
        }
        let line = match &spec.line {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let warning = empty_pattern_warning(&spec);
        let done = |msg: &str| {
            let mut out = Outcome::ok(msg);
            out.data.extend(warning.clone());
            Ok(Plan::done(out))
        };
        let compile = |p: &str| LineRegex::line(p).map_err(|e| bad(&e.to_string()));
        let regexp = spec.regexp.as_deref().map(compile).transpose()?;
        let path = PathBuf::from(&spec.path);
        let before = read_current("lineinfile", &path)?;
        if let Some(bytes) = &before
            && let Some(re) = &regexp
        {
            re.check_utf8(bytes).map_err(|e| not_utf8(&spec.path, e))?;
        }
        let lines: Vec<Vec<u8>> = before
            .as_deref()
            .map(|b| {
                b.split_inclusive(|c| *c == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect()
            })
            .unwrap_or_default();

        let (after, msg) = match spec.state {
            State::Present => {
                let Some(line) = line else {
                    return Err(bad("`line` is required with state=present"));
                };
                if before.is_none() && !spec.create {
                    return Err(ModuleError::Failed(format!(
                        "Destination {} does not exist !",
                        spec.path
                    )));
                }
                let anchor = match (&spec.insertafter, &spec.insertbefore) {
                    (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile(a)?),
                    (None, Some(b)) if b != "BOF" => Some(compile(b)?),
                    _ => None,
                };
                if let Some(bytes) = &before
                    && let Some(re) = &anchor
                {
                    re.check_utf8(bytes).map_err(|e| not_utf8(&spec.path, e))?;
                }
                present(
                    lines,
                    &Params {
                        regexp: regexp.as_ref(),
                        search_string: spec.search_string.as_deref(),
                        line: line.as_bytes(),
                        insertafter: spec.insertafter.as_deref(),
                        insertbefore: spec.insertbefore.as_deref(),
                        anchor: anchor.as_ref(),
                        backrefs: spec.backrefs,
                        firstmatch: spec.firstmatch,
                    },
                )
                .map_err(failed)?
            }
            State::Absent => {
                if before.is_none() {
                    return done("file not present");
                }
                if regexp.is_none() && spec.search_string.is_none() && line.is_none() {
                    return Err(bad(
                        "one of `line`, `regexp` or `search_string` is required with state=absent",
                    ));
                }
                absent(
                    lines,
                    regexp.as_ref(),
                    spec.search_string.as_deref(),
                    line.as_deref(),
                )
                .map_err(failed)?
            }
        };
        let after_bytes: Vec<u8> = after.concat();
        let mut data: Map<String, Json> = warning.clone().into_iter().collect();
        // As Ansible's: `backup` is always there, empty when no backup was made.
        data.insert("backup".into(), Json::from(""));
        data.insert("path".into(), Json::from(spec.path.clone()));
        let new_file = before.is_none();
        if after_bytes.is_empty() && new_file {
            // Nothing to write and no file: nothing changes (as Ansible with backrefs).
            return done(&msg);
        }
        let msg_is_change = !msg.is_empty();
        FileWrite {
            module: "lineinfile",
            path,
            before: before.map(Before::Bytes),
            after: after_bytes.into(),
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o644,
            backup: spec.backup,
            data,
            create_parents: spec.create,
            msg: msg_is_change.then_some(msg),
            validate: spec.validate,
            follow: true,
        }
        .plan()
    }
}

/// Ansible's warning (`warnings` of the result) for an empty `regexp` or `search_string`,
/// which matches every line.
fn empty_pattern_warning(spec: &LineInFileSpec) -> Option<(String, Json)> {
    let what = match (spec.regexp.as_deref(), spec.search_string.as_deref()) {
        (Some(""), _) => "regular expression",
        (_, Some("")) => "search string",
        _ => return None,
    };
    let mut msg = format!(
        "The {what} is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending."
    );
    if what == "regular expression" {
        msg.push_str(
            " If this is desired, use '^' to match every line in the file and avoid this warning.",
        );
    }
    Some(("warnings".to_owned(), Json::from(vec![msg])))
}

/// A pattern that could not be searched or expanded fails the task.
fn failed(e: PyRegexError) -> ModuleError {
    ModuleError::Failed(e.to_string())
}

/// A pattern that needs fancy-regex and a file that is not utf-8: the task fails.
fn not_utf8(path: &str, e: PyRegexError) -> ModuleError {
    ModuleError::Failed(format!("`{path}` is not valid utf-8: {e}"))
}

/// What `present` works with.
struct Params<'a> {
    regexp: Option<&'a LineRegex>,
    search_string: Option<&'a str>,
    line: &'a [u8],
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
    anchor: Option<&'a LineRegex>,
    backrefs: bool,
    firstmatch: bool,
}

/// A line without its `\r\n` / `\n` ending (Python's `rstrip(b'\r\n')`).
fn rstrip(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && matches!(l[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &l[..end]
}

/// Python's `re.search` on a line from `readlines()`: `$` also matches before the final
/// newline, which the regex crate's `$` does not; searching without that newline is the
/// same for every pattern that does not spell out `\n`.
fn search<'r, 'h>(re: &'r LineRegex, l: &'h [u8]) -> Result<Option<Hit<'r, 'h>>, PyRegexError> {
    re.search(l.strip_suffix(b"\n").unwrap_or(l))
}

fn ends_with_newline(l: &[u8]) -> bool {
    matches!(l.last(), Some(b'\n' | b'\r'))
}

fn with_sep(l: &[u8]) -> Vec<u8> {
    let mut v = l.to_vec();
    v.push(b'\n');
    v
}

/// Ansible's `present()`; returns the new lines and the message (empty = unchanged).
fn present(
    mut lines: Vec<Vec<u8>>,
    p: &Params<'_>,
) -> Result<(Vec<Vec<u8>>, String), PyRegexError> {
    let mut index: [isize; 2] = [-1, -1];
    let mut matched: Option<Vec<u8>> = None;

    if let Some(re) = p.regexp {
        for (n, l) in lines.iter().enumerate() {
            if let Some(hit) = search(re, l)? {
                index[0] = n as isize;
                // Only `backrefs` expands (Python's `match.expand`, which may refuse `line`).
                matched = Some(if p.backrefs {
                    hit.expand(&String::from_utf8_lossy(p.line))?
                } else {
                    p.line.to_vec()
                });
                if p.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(needle) = p.search_string {
        for (n, l) in lines.iter().enumerate() {
            if contains(l, needle.as_bytes()) {
                index[0] = n as isize;
                matched = Some(p.line.to_vec());
                if p.firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (n, l) in lines.iter().enumerate() {
            if p.line == rstrip(l) {
                index[0] = n as isize;
            } else if let Some(re) = p.anchor
                && search(re, l)?.is_some()
            {
                if p.insertafter.is_some() {
                    index[1] = n as isize + 1;
                    if p.firstmatch {
                        break;
                    }
                }
                if p.insertbefore.is_some() {
                    index[1] = n as isize;
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
    }

    let added = "line added".to_owned();
    if index[0] != -1 {
        let mut new_line = match (&matched, p.backrefs) {
            (Some(expanded), true) => expanded.clone(),
            _ => p.line.to_vec(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        let i = index[0] as usize;
        if lines[i] != new_line {
            lines[i] = new_line;
            return Ok((lines, "line replaced".to_owned()));
        }
        return Ok((lines, String::new()));
    }
    if p.backrefs {
        // Without a match there is nothing to fill the backreferences with.
        return Ok((lines, String::new()));
    }
    if p.insertbefore == Some("BOF") || p.insertafter == Some("BOF") {
        lines.insert(0, with_sep(p.line));
        return Ok((lines, added));
    }
    if p.insertafter == Some("EOF") || index[1] == -1 {
        if let Some(last) = lines.last()
            && !ends_with_newline(last)
        {
            lines.push(b"\n".to_vec());
        }
        lines.push(with_sep(p.line));
        return Ok((lines, added));
    }
    let at = index[1] as usize;
    if p.insertafter.is_some() {
        if lines.len() == at {
            if rstrip(&lines[at - 1]) != p.line {
                lines.push(with_sep(p.line));
                return Ok((lines, added));
            }
        } else if p.line != rstrip(&lines[at]) {
            lines.insert(at, with_sep(p.line));
            return Ok((lines, added));
        }
        return Ok((lines, String::new()));
    }
    lines.insert(at, with_sep(p.line));
    Ok((lines, added))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Ansible's `absent()`.
fn absent(
    lines: Vec<Vec<u8>>,
    regexp: Option<&LineRegex>,
    search_string: Option<&str>,
    line: Option<&str>,
) -> Result<(Vec<Vec<u8>>, String), PyRegexError> {
    let before = lines.len();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(before);
    for l in lines {
        let found = match (regexp, search_string) {
            (Some(re), _) => search(re, &l)?.is_some(),
            (None, Some(s)) => contains(&l, s.as_bytes()),
            (None, None) => line.is_some_and(|x| x.as_bytes() == rstrip(&l)),
        };
        if !found {
            kept.push(l);
        }
    }
    let removed = before - kept.len();
    let msg = if removed > 0 {
        format!("{removed} line(s) removed")
    } else {
        String::new()
    };
    Ok((kept, msg))
}

#[cfg(test)]
mod tests;
