//! `unarchive`: unpack a tar (plain, gzip, bzip2, xz) or zip archive into an existing
//! directory, natively (no `tar`/`unzip` on the host), as Ansible's `unarchive` does.
//!
//! Without `remote_src` the archive is a controller file shipped with the request; with
//! it, a path on the host or an `http(s)://` URL the host downloads. `check` walks the
//! archive and compares every member with the disk by Ansible's rules (see
//! [`state`]); the task changes only when something differs, and apply writes exactly the
//! members that differ, each atomically. Unlike Ansible, whose tar handler skips check
//! mode, check mode reports what would change for every format.

mod apply;
mod archive;
mod download;
mod extract;
mod paths;
pub(in crate::modules) mod select;
mod state;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish, opt_text};
use super::attrs::{AttrSpec, FileMode};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};
use crate::fsutil::Attrs;
use crate::wire::Diff;
use archive::{ArchiveError, Flow, Kind, Source};
use paths::Guard;
use select::Selection;
use state::{Need, Rules};

/// The `unarchive` module.
pub struct Unarchive;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnarchiveSpec {
    #[serde(default, deserialize_with = "opt_text")]
    src: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    dest: Option<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    remote_src: Option<bool>,
    /// Deprecated: `copy: false` is `remote_src: true`.
    #[serde(default, deserialize_with = "opt_bool_ish")]
    copy: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    creates: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    list_files: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    keep_newer: bool,
    #[serde(default, deserialize_with = "str_list")]
    exclude: Vec<String>,
    #[serde(default, deserialize_with = "str_list")]
    include: Vec<String>,
    #[serde(default, deserialize_with = "str_list")]
    extra_opts: Vec<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    validate_certs: Option<bool>,
    io_buffer_size: Option<Json>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    decrypt: Option<bool>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
}

/// Ansible's `type='list', elements='str'`: a list, or a comma-separated string.
fn str_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let scalar = |v: Json| match v {
        Json::String(s) => Ok(s),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(if b { "True" } else { "False" }.to_owned()),
        other => Err(de::Error::custom(format!(
            "expected a string, found `{other}`"
        ))),
    };
    match Json::deserialize(d)? {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items.into_iter().map(scalar).collect(),
        Json::String(s) if s.is_empty() => Ok(Vec::new()),
        Json::String(s) => Ok(s.split(',').map(|p| p.trim().to_owned()).collect()),
        other => Ok(vec![scalar(other)?]),
    }
}

impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "src",
            "dest",
            "remote_src",
            "copy",
            "creates",
            "list_files",
            "keep_newer",
            "exclude",
            "include",
            "extra_opts",
            "validate_certs",
            "io_buffer_size",
            "decrypt",
            "mode",
            "owner",
            "group",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: UnarchiveSpec = parse_args("unarchive", args)?;
        // Ansible's own messages, word for word.
        let bad = |m: &str| ModuleError::Failed(m.to_owned());
        if spec.copy.is_some() && spec.remote_src.is_some() {
            return Err(bad(
                "parameters are mutually exclusive: ('copy', 'remote_src')",
            ));
        }
        let remote_src = spec.remote_src.unwrap_or(false) || spec.copy == Some(false);
        let (Some(src), Some(dest)) = (&spec.src, &spec.dest) else {
            return Err(bad("src (or content) and dest are required"));
        };
        if !spec.include.is_empty() && !spec.exclude.is_empty() {
            return Err(bad("parameters are mutually exclusive: include|exclude"));
        }
        if !spec.extra_opts.is_empty() {
            return Err(bad(
                "`extra_opts` is not supported: its options are gtar/unzip command-line flags, \
                 and dr unpacks archives natively (use `include`/`exclude`, or a `command` task)",
            ));
        }
        check_buffer_size(spec.io_buffer_size.as_ref())?;
        let expand = |p: &str| path_arg::expand(p, ctx.environment);
        if let Some(creates) = spec.creates.as_deref().filter(|c| !c.is_empty()) {
            let creates = expand(creates);
            if Path::new(&creates).exists() {
                return Ok(Plan::done(Outcome {
                    skipped: true,
                    msg: format!("skipped, since {creates} exists"),
                    ..Outcome::default()
                }));
            }
        }
        let dest = expand(dest);
        let mut fetched = None;
        let (source, shown_src) = if remote_src {
            if src.contains("://") {
                must_be_dir(&dest)?;
                let tmp = download::fetch(src, spec.validate_certs.unwrap_or(true))
                    .map_err(ModuleError::Failed)?;
                let path = tmp.path().to_path_buf();
                fetched = Some(tmp);
                (Source::File(path.clone()), path.display().to_string())
            } else {
                must_be_dir(&dest)?;
                let path = PathBuf::from(expand(src));
                if !path.exists() {
                    return Err(ModuleError::Failed(format!(
                        "Source '{}' does not exist",
                        path.display()
                    )));
                }
                let abs = std::path::absolute(&path).unwrap_or(path);
                (Source::File(abs.clone()), abs.display().to_string())
            }
        } else {
            if src.contains("://") {
                return Err(ModuleError::Failed(format!(
                    "Unsupported option, an URI src ({}) is only supported when remote_src is True",
                    super::http::mask_url(src)
                )));
            }
            let file = super::copy::shipped("unarchive", ctx, src)?;
            if file.bytes().starts_with(b"$ANSIBLE_VAULT;") && spec.decrypt != Some(false) {
                return Err(ModuleError::Failed(format!(
                    "unarchive: `{src}` is vault-encrypted; dr does not decrypt archives: \
                     decrypt it before the run (`dr vault decrypt` or `ansible-vault decrypt`)"
                )));
            }
            must_be_dir(&dest)?;
            (Source::Bytes(file.shared()), file.origin.clone())
        };
        let size = match &source {
            Source::Bytes(b) => b.len() as u64,
            Source::File(p) => std::fs::metadata(p)
                .map_err(|e| {
                    ModuleError::Failed(format!("Source '{}' not readable, {e}", p.display()))
                })?
                .len(),
        };
        if size == 0 {
            return Err(ModuleError::Failed(format!(
                "Invalid archive '{shown_src}', the file is 0 bytes"
            )));
        }
        let task = Task {
            source,
            shown_src,
            dest: PathBuf::from(&dest),
            shown_dest: dest,
            selection: Selection {
                include: spec.include,
                exclude: spec.exclude,
            },
            list_files: spec.list_files,
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            keep_newer: spec.keep_newer,
            _download: fetched,
        };
        task.plan()
    }
}

fn check_buffer_size(v: Option<&Json>) -> Result<(), ModuleError> {
    let ok = match v {
        None | Some(Json::Null) => true,
        Some(Json::Number(n)) => n.as_i64().is_some(),
        Some(Json::String(s)) => s.trim().parse::<i64>().is_ok(),
        Some(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ArgsError::new("unarchive", "`io_buffer_size` must be an integer").into())
    }
}

/// Ansible's action plugin: `dest` must be a directory that exists.
fn must_be_dir(dest: &str) -> Result<(), ModuleError> {
    if Path::new(dest).is_dir() {
        Ok(())
    } else {
        Err(ModuleError::Failed(format!(
            "dest '{dest}' must be an existing dir"
        )))
    }
}

/// The resolved task.
struct Task {
    source: Source,
    /// `src` as reported.
    shown_src: String,
    dest: PathBuf,
    shown_dest: String,
    selection: Selection,
    list_files: bool,
    attrs: AttrSpec,
    keep_newer: bool,
    /// A downloaded archive, removed when the task is done.
    _download: Option<tempfile::NamedTempFile>,
}

/// What one member needs, by its index in the archive.
struct Step {
    index: usize,
    need: Need,
}

impl Task {
    fn failed(&self, e: impl std::fmt::Display) -> ModuleError {
        ModuleError::Failed(format!(
            "failed to unpack {} to {}: {e}",
            self.shown_src, self.shown_dest
        ))
    }

    fn plan(self) -> Result<Plan, ModuleError> {
        let explicit = self.attrs.resolve("unarchive", None, false)?;
        let handler = archive::detect(&self.source, crate::fsutil::umask()).map_err(|e| match e {
            ArchiveError::Unsupported(m) => ModuleError::Failed(m),
            other => ModuleError::Failed(format!(
                "Failed to find handler for \"{}\". Make sure the required command to extract the file is installed.\n{other}",
                self.shown_src
            )),
        })?;
        let mut rules = Rules::new(
            handler,
            explicit.uid,
            explicit.gid,
            self.attrs.mode.clone(),
            self.keep_newer,
        );
        let mut guard = Guard::new(&self.dest)
            .map_err(|e| ModuleError::io("cannot resolve", &self.shown_dest, e))?;
        let mut steps = Vec::new();
        let mut files = Vec::new();
        let mut names = Vec::new();
        let mut lines = Vec::new();
        let mut refused = None;
        let mut index = 0usize;
        let walked = archive::walk(&self.source, handler, rules.umask, &mut |m, data| {
            let i = index;
            index += 1;
            names.push(m.name.clone());
            // A member left out is never written: only what is extracted must stay inside.
            if !self.selection.extracts(handler, &m.name) {
                return Ok(Flow::Continue);
            }
            let rel = match paths::relative(&m.name) {
                Ok(rel) => rel,
                Err(e) => {
                    refused = Some(e.to_string());
                    return Ok(Flow::Stop);
                }
            };
            if let Err(e) = guard.check(&m.name, &rel, matches!(m.kind, Kind::Symlink(_))) {
                refused = Some(e.to_string());
                return Ok(Flow::Stop);
            }
            let link_target = match &m.kind {
                Kind::HardLink(t) => match paths::relative(t) {
                    Ok(t) => Some(self.dest.join(t)),
                    Err(e) => {
                        refused = Some(e.to_string());
                        return Ok(Flow::Stop);
                    }
                },
                _ => None,
            };
            let shown = m.name.trim_start_matches('/');
            for _ in 0..self.selection.listed(handler, &m.name) {
                files.push(if handler.is_tar() { shown } else { &m.name }.to_owned());
            }
            let path = self.dest.join(&rel);
            let need = rules.judge(m, &path, link_target.as_deref(), data)?;
            if need != Need::Nothing {
                lines.push(apply::describe(shown, &need));
                steps.push(Step { index: i, need });
            }
            Ok(Flow::Continue)
        });
        if let Some(why) = refused {
            return Err(ModuleError::Failed(format!(
                "unarchive: refusing `{}`: {why}",
                self.shown_src
            )));
        }
        walked.map_err(|e| self.failed(e))?;
        if handler.is_tar() {
            let missing = self.selection.missing_includes(&names);
            if !missing.is_empty() {
                return Err(ModuleError::Failed(format!(
                    "Unable to list files in the archive: {}: Not found in archive",
                    missing.join(", ")
                )));
            }
        }
        // As Ansible: the first directory of every listed member gets the explicit
        // mode, owner and group too.
        let mut top_dirs = Vec::new();
        if explicit != Attrs::default() || self.attrs.mode.is_some() {
            let tops: BTreeSet<&str> = files
                .iter()
                .filter_map(|f| f.split_once('/').map(|(top, _)| top))
                .collect();
            for top in tops {
                let path = self.dest.join(top);
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                let current = crate::fsutil::Current::of(&path)
                    .map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
                let wanted = self
                    .attrs
                    .resolve("unarchive", Some(current.mode), meta.is_dir())?;
                let (differ, _) = super::attrs::changes(&path, &current, wanted);
                if super::attrs::any(&differ) {
                    lines.push(apply::describe(top, &Need::Attrs(differ)));
                    top_dirs.push((path, differ));
                }
            }
        }
        let mut data = Map::new();
        data.insert("dest".into(), Json::from(self.shown_dest.clone()));
        data.insert("src".into(), Json::from(self.shown_src.clone()));
        data.insert("handler".into(), Json::from(handler.name()));
        if self.list_files {
            data.insert("files".into(), Json::from(files));
        }
        super::path_info::add(&mut data, &self.dest);
        if steps.is_empty() && top_dirs.is_empty() {
            let mut outcome = Outcome::ok(format!(
                "`{}` already holds `{}`",
                self.shown_dest, self.shown_src
            ));
            outcome.data = data;
            return Ok(Plan::done(outcome));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!(
                "would unpack `{}` into `{}`: {} member(s) differ",
                self.shown_src,
                self.shown_dest,
                lines.len()
            ),
            diffs: vec![Diff {
                target: self.shown_dest.clone(),
                text: lines.join("\n") + "\n",
            }],
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome.clone(),
            apply::Extract {
                task: self,
                rules,
                steps,
                top_dirs,
                outcome,
            },
        ))
    }
}

#[cfg(test)]
mod tests;
