//! `blockinfile`: insert, update or remove a block of lines between marker lines, byte for
//! byte as Ansible's `blockinfile.py` does (same placement rules, same newline handling).

use std::path::PathBuf;

use regex::bytes::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::attrs::{AttrSpec, FileMode};
use super::content::{Before, FileWrite, read_current};
use super::replace::{ansible_message, pyre};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `blockinfile` module.
pub struct BlockInFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockInFileSpec {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    #[serde(default)]
    state: State,
    marker: Option<String>,
    #[serde(alias = "content")]
    block: Option<Json>,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    create: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    validate: Option<String>,
    marker_begin: Option<String>,
    marker_end: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    append_newline: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    prepend_newline: bool,
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

impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "path",
            "dest",
            "destfile",
            "name",
            "state",
            "marker",
            "block",
            "content",
            "insertafter",
            "insertbefore",
            "create",
            "backup",
            "validate",
            "marker_begin",
            "marker_end",
            "append_newline",
            "prepend_newline",
            "mode",
            "owner",
            "group",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: BlockInFileSpec = parse_args("blockinfile", args)?;
        let bad = |m: String| ModuleError::from(ArgsError::new("blockinfile", m));
        if spec.insertafter.is_some() && spec.insertbefore.is_some() {
            return Err(bad(
                "parameters are mutually exclusive: insertbefore|insertafter".to_owned(),
            ));
        }
        let path = PathBuf::from(&spec.path);
        if path.is_dir() {
            return Err(ModuleError::Failed(format!(
                "Path {} is a directory !",
                spec.path
            )));
        }
        let original = read_current("blockinfile", &path)?;
        let present = spec.state == State::Present;
        if original.is_none() {
            if !spec.create {
                return Err(ModuleError::Failed(format!(
                    "Path {} does not exist !",
                    spec.path
                )));
            }
            if !present {
                return Ok(Plan::done(Outcome::ok(format!(
                    "File {} not present",
                    spec.path
                ))));
            }
        }
        let (insertafter, insertbefore) = match (&spec.insertafter, &spec.insertbefore) {
            (None, None) => (Some("EOF"), None),
            (a, b) => (a.as_deref(), b.as_deref()),
        };
        let anchor = match (insertafter, insertbefore) {
            (Some(a), _) if a != "EOF" => Some(a),
            (None, Some(b)) if b != "BOF" => Some(b),
            _ => None,
        };
        let anchor = anchor
            .map(|p| {
                let t = pyre::translate(p, true).map_err(&bad)?;
                Regex::new(&t)
                    .map(|re| (re, multiline(p)))
                    .map_err(|e| bad(format!("invalid regular expression `{p}`: {e}")))
            })
            .transpose()?;
        let block = match &spec.block {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let marker = spec
            .marker
            .as_deref()
            .unwrap_or("# {mark} ANSIBLE MANAGED BLOCK");
        let mark = |m: &str| format!("{}\n", marker.replace("{mark}", m)).into_bytes();
        let marker0 = mark(spec.marker_begin.as_deref().unwrap_or("BEGIN"));
        let marker1 = mark(spec.marker_end.as_deref().unwrap_or("END"));

        let result = edit(
            original.as_deref(),
            &Edit {
                block: present.then_some(block.as_bytes()),
                marker0: &marker0,
                marker1: &marker1,
                insertafter,
                insertbefore,
                anchor: anchor.as_ref().map(|(re, m)| (re, *m)),
                prepend_newline: spec.prepend_newline,
                append_newline: spec.append_newline,
            },
        );
        let removed = result.removed;
        let msg = match &original {
            Some(o) if *o == result.bytes => None,
            None => Some("File created"),
            Some(_) if removed => Some("Block removed"),
            Some(_) => Some("Block inserted"),
        };
        let plan = FileWrite {
            module: "blockinfile",
            path,
            before: original.map(Before::Bytes),
            after: result.bytes.into(),
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o644,
            backup: spec.backup,
            data: Map::new(),
            create_parents: true,
            msg: None,
            validate: spec.validate,
            follow: true,
        }
        .plan()?;
        Ok(ansible_message(plan, msg.map(str::to_owned)))
    }
}

/// Whether Python would compile `p` with MULTILINE (a leading global `(?...m...)` flag);
/// Ansible then searches the whole file instead of line by line.
fn multiline(p: &str) -> bool {
    let Some(rest) = p.strip_prefix("(?") else {
        return false;
    };
    let flags: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    rest[flags.len()..].starts_with(')') && flags.contains('m')
}

/// What [`edit`] does.
struct Edit<'a> {
    /// The block, or `None` for state=absent.
    block: Option<&'a [u8]>,
    marker0: &'a [u8],
    marker1: &'a [u8],
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
    /// The insertafter/insertbefore regular expression, and whether it is MULTILINE.
    anchor: Option<(&'a Regex, bool)>,
    prepend_newline: bool,
    append_newline: bool,
}

/// The new content, and whether the block was removed rather than inserted.
struct Edited {
    bytes: Vec<u8>,
    removed: bool,
}

/// Python's `bytes.splitlines(True)`: ends at `\n`, `\r\n` or `\r`, each kept.
fn splitlines(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push(b[start..=i].to_vec());
                start = i + 1;
            }
            b'\r' => {
                let end = if b.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                out.push(b[start..=end].to_vec());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        out.push(b[start..].to_vec());
    }
    out
}

/// Ansible's `main()` from reading the file to joining the lines, step by step.
fn edit(original: Option<&[u8]>, e: &Edit<'_>) -> Edited {
    let mut lines = original.map(splitlines).unwrap_or_default();
    let blocklines: Vec<Vec<u8>> = match e.block {
        Some(block) if !block.is_empty() => {
            let mut block = block.to_vec();
            if !block.ends_with(b"\n") {
                block.push(b'\n');
            }
            let mut v = vec![e.marker0.to_vec()];
            v.extend(splitlines(&block));
            v.push(e.marker1.to_vec());
            v
        }
        _ => Vec::new(),
    };
    let mut n0 = None;
    let mut n1 = None;
    for (i, line) in lines.iter().enumerate() {
        if line == e.marker0 {
            n0 = Some(i);
        }
        if line == e.marker1 {
            n1 = Some(i);
        }
    }
    let mut n0 = match (n0, n1) {
        (Some(a), Some(b)) if a < b => {
            lines.drain(a..=b);
            a
        }
        (Some(a), Some(b)) => {
            lines.drain(b..=a);
            b
        }
        _ => insertion_point(original.unwrap_or_default(), &lines, e),
    };
    if n0 > 0 && !lines[n0 - 1].ends_with(b"\n") {
        lines[n0 - 1].push(b'\n');
    }
    let present = e.block.is_some();
    if e.prepend_newline && present && n0 != 0 && lines[n0 - 1] != b"\n" {
        lines.insert(n0, b"\n".to_vec());
        n0 += 1;
    }
    let after_block = n0 + blocklines.len();
    let removed = blocklines.is_empty();
    lines.splice(n0..n0, blocklines);
    if e.append_newline && present && after_block < lines.len() && lines[after_block] != b"\n" {
        lines.insert(after_block, b"\n".to_vec());
    }
    Edited {
        bytes: lines.concat(),
        removed,
    }
}

/// Where the block goes when the file has no pair of markers.
fn insertion_point(original: &[u8], lines: &[Vec<u8>], e: &Edit<'_>) -> usize {
    let Some((re, is_multiline)) = e.anchor else {
        return if e.insertbefore.is_some() {
            0 // insertbefore=BOF
        } else {
            lines.len() // insertafter=EOF
        };
    };
    let mut n0 = None;
    if is_multiline {
        if let Some(m) = re.find(original) {
            let count = |end: usize| original[..end].iter().filter(|&&c| c == b'\n').count();
            if e.insertafter.is_some_and(|a| !a.is_empty()) {
                n0 = Some(count(m.end()));
            } else if e.insertbefore.is_some_and(|b| !b.is_empty()) {
                n0 = Some(count(m.start()));
            }
        }
    } else {
        for (i, line) in lines.iter().enumerate() {
            // Python's `$` also matches before a final newline.
            if re.is_match(line.strip_suffix(b"\n").unwrap_or(line)) {
                n0 = Some(i);
            }
        }
    }
    match n0 {
        None => lines.len(),
        Some(n) if e.insertafter.is_some() => n + 1,
        Some(n) => n,
    }
}

#[cfg(test)]
mod tests;
