//! The plan shared by modules that write a whole file (`copy`, `template`, `lineinfile`,
//! `env_file`): new bytes and attributes, compared with what is on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::attrs::{self, AttrSpec};
use super::{Action, Context, ModuleError, Outcome, Plan};
use crate::diff;
use crate::fsutil::{self, Attrs, Current};

/// One file whose wanted content is known.
pub struct FileWrite {
    /// The module, for messages.
    pub module: &'static str,
    /// Destination.
    pub path: PathBuf,
    /// What the file holds now (`None` when it does not exist).
    pub before: Option<Before>,
    /// Wanted bytes (shared: `copy` hands over the request's buffer, never a copy).
    pub after: Arc<[u8]>,
    /// Wanted attributes.
    pub attrs: AttrSpec,
    /// Mode of a newly created file.
    pub default_mode: u32,
    /// Keep a copy of the old file before replacing it.
    pub backup: bool,
    /// Extra keys of the registered result.
    pub data: Map<String, Json>,
    /// Create missing parent directories (`lineinfile: create=yes` does).
    pub create_parents: bool,
    /// The message for a change (`line added`); a generic one when `None`.
    pub msg: Option<String>,
    /// A command that must accept the new file (`%s` = its temporary path) before it
    /// replaces the old one.
    pub validate: Option<String>,
    /// A symlink at `path` is followed and its target written (`follow: true`, and always
    /// for the editing modules, which write `realpath(path)` in Ansible); otherwise the link
    /// itself is replaced by a file, and is a change even when its target holds the wanted
    /// bytes, as Ansible's `copy` module does.
    pub follow: bool,
}

/// What a destination holds before a write.
#[derive(Debug)]
pub enum Before {
    /// Its bytes, for an edit or a diff.
    Bytes(Vec<u8>),
    /// A file too large to diff, never held whole: its size and whether it equals the
    /// wanted bytes (compared chunk by chunk as it was read).
    Compared {
        /// Its size in bytes.
        len: u64,
        /// Whether it holds exactly the wanted bytes.
        same: bool,
    },
}

impl Before {
    /// Whether the file already holds `wanted`.
    fn holds(&self, wanted: &[u8]) -> bool {
        match self {
            Before::Bytes(b) => b[..] == *wanted,
            Before::Compared { same, .. } => *same,
        }
    }

    /// The content diff from this to `after`.
    fn diff(&self, path: &str, after: &[u8]) -> crate::wire::Diff {
        match self {
            Before::Bytes(b) => diff::content(path, Some(b), after),
            Before::Compared { len, .. } => diff::skipped(path, Some(*len), after.len()),
        }
    }
}

/// Reads the current content of `path`, refusing directories.
pub fn read_current(module: &'static str, path: &Path) -> Result<Option<Vec<u8>>, ModuleError> {
    refuse_dir(module, path)?;
    fsutil::read_optional(path).map_err(|e| ModuleError::io("cannot read", path.display(), e))
}

/// What `path` holds compared with `wanted`, refusing directories. A file larger than a
/// diff is ever computed for is compared in chunks and never held whole: a converged copy of
/// a 150 MB file must not cost 150 MB more per host.
pub fn compare_current(
    module: &'static str,
    path: &Path,
    wanted: &[u8],
) -> Result<Option<Before>, ModuleError> {
    refuse_dir(module, path)?;
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ModuleError::io("cannot read", path.display(), e)),
    };
    if len <= diff::MAX_DIFF_BYTES as u64 && wanted.len() <= diff::MAX_DIFF_BYTES {
        return Ok(read_current(module, path)?.map(Before::Bytes));
    }
    match fsutil::same_content(path, wanted) {
        Ok(Some(same)) => Ok(Some(Before::Compared { len, same })),
        Ok(None) => Ok(None),
        Err(e) => Err(ModuleError::io("cannot read", path.display(), e)),
    }
}

fn refuse_dir(module: &'static str, path: &Path) -> Result<(), ModuleError> {
    if path.is_dir() {
        return Err(ModuleError::Failed(format!(
            "{module}: `{}` is a directory",
            path.display()
        )));
    }
    Ok(())
}

/// Checks a `validate:` command: it must name the file with `%s` (Ansible's message).
pub fn check_validate(cmd: Option<&str>) -> Result<(), ModuleError> {
    match cmd {
        Some(c) if !c.contains("%s") => Err(ModuleError::Failed(format!(
            "validate must contain %s: {c}"
        ))),
        _ => Ok(()),
    }
}

/// Runs `cmd` with `%s` replaced by `tmp`, without a shell.
fn run_validate(cmd: &str, tmp: &Path) -> Result<(), String> {
    let words = super::args::shell_split(cmd)?;
    let tmp = tmp.display().to_string();
    let argv: Vec<String> = words.iter().map(|w| w.replace("%s", &tmp)).collect();
    let Some((program, args)) = argv.split_first() else {
        return Err("empty `validate` command".to_owned());
    };
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{cmd}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    Err(format!(
        "`{cmd}` exited with {}: {}",
        out.status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string()),
        said.trim()
    ))
}

impl FileWrite {
    /// Compares with the disk and returns the plan.
    pub fn plan(mut self) -> Result<Plan, ModuleError> {
        check_validate(self.validate.as_deref())?;
        let replaces_link = self.resolve_link();
        let shown = self.path.display().to_string();
        let current = match &self.before {
            Some(_) if !replaces_link => Some(
                Current::of(&self.path).map_err(|e| ModuleError::io("cannot stat", &shown, e))?,
            ),
            _ => None,
        };
        let wanted = self
            .attrs
            .resolve(self.module, current.map(|c| c.mode), false)?;
        let content_changes =
            replaces_link || !self.before.as_ref().is_some_and(|b| b.holds(&self.after));
        let (attr_changes, attr_diffs) = match &current {
            Some(c) => attrs::changes(&self.path, c, wanted),
            None => (Attrs::default(), Vec::new()),
        };
        let mut data = self.data.clone();
        data.insert("dest".into(), Json::from(shown.clone()));
        if !content_changes && !attrs::any(&attr_changes) {
            self.add_path_info(&mut data);
            let mut outcome = Outcome::ok(format!("`{shown}` is up to date"));
            outcome.data = data;
            return Ok(Plan::done(outcome));
        }
        let mut diffs = Vec::new();
        if content_changes {
            diffs.push(match &self.before {
                Some(b) => b.diff(&shown, &self.after),
                None => diff::content(&shown, None, &self.after),
            });
        }
        diffs.extend(attr_diffs);
        let msg = match (&self.before, content_changes) {
            _ if self.msg.is_some() => self.msg.clone().unwrap_or_default(),
            _ if replaces_link => format!("would replace the link `{shown}` with a file"),
            (None, _) => format!("would create `{shown}`"),
            (Some(_), true) => format!("would update `{shown}`"),
            (Some(_), false) => format!("would change attributes of `{shown}`"),
        };
        let outcome = Outcome {
            changed: true,
            msg,
            diffs,
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Write {
                content_changes,
                wanted,
                attr_changes,
                replaces_link,
                file: self,
            },
        ))
    }

    /// `copy` and `template` results carry the attributes of what they wrote (Ansible's
    /// `add_path_info`: uid, gid, owner, group, mode, state, size).
    fn add_path_info(&self, data: &mut Map<String, Json>) {
        if matches!(self.module, "copy" | "template") {
            super::path_info::add(data, &self.path);
        }
    }

    /// With `follow`, points `path` at the file a symlink there resolves to (a dangling link
    /// stays: it is replaced, as Ansible's `realpath` of a missing target is never
    /// written through). Returns whether `path` is a link the write replaces.
    fn resolve_link(&mut self) -> bool {
        let is_link = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_symlink());
        if !is_link {
            return false;
        }
        if self.follow
            && let Ok(real) = std::fs::canonicalize(&self.path)
        {
            self.path = real;
            return false;
        }
        true
    }
}

/// Performs a [`FileWrite`] plan.
struct Write {
    content_changes: bool,
    replaces_link: bool,
    wanted: Attrs,
    attr_changes: Attrs,
    file: FileWrite,
}

impl Action for Write {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let f = &self.file;
        let shown = f.path.display().to_string();
        let mut data = f.data.clone();
        data.insert("dest".into(), Json::from(shown.clone()));
        if self.content_changes {
            if f.create_parents {
                let dir = fsutil::parent(&f.path);
                std::fs::create_dir_all(dir)
                    .map_err(|e| ModuleError::io("cannot create directory", dir.display(), e))?;
            }
            if f.backup && f.before.is_some() {
                let b = fsutil::backup(&f.path)
                    .map_err(|e| ModuleError::io("cannot back up", &shown, e))?;
                // `lineinfile` names it `backup`; Ansible's other modules `backup_file`.
                let key = if f.module == "lineinfile" {
                    "backup"
                } else {
                    "backup_file"
                };
                data.insert(key.into(), Json::from(b));
            }
            let validate = |tmp: &Path| match &f.validate {
                Some(cmd) => run_validate(cmd, tmp),
                None => Ok(()),
            };
            fsutil::write_atomic_with(&f.path, &f.after, self.wanted, f.default_mode, &validate)
                .map_err(|e| match e {
                    fsutil::WriteError::Io(e) => ModuleError::io("cannot write", &shown, e),
                    invalid => ModuleError::Failed(format!("`{shown}` was not changed: {invalid}")),
                })?;
        } else {
            fsutil::set_attrs(&f.path, self.attr_changes)
                .map_err(|e| ModuleError::io("cannot set attributes of", &shown, e))?;
        }
        let msg = match (&f.before, self.content_changes) {
            _ if f.msg.is_some() => f.msg.clone().unwrap_or_default(),
            _ if self.replaces_link => format!("replaced the link `{shown}` with a file"),
            (None, _) => format!("created `{shown}`"),
            (Some(_), true) => format!("updated `{shown}`"),
            (Some(_), false) => format!("changed attributes of `{shown}`"),
        };
        f.add_path_info(&mut data);
        Ok(Outcome {
            changed: true,
            msg,
            data,
            ..Outcome::default()
        })
    }
}

/// Ansible's `checksum` of file contents: SHA-1, in hex.
pub fn checksum(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `md5sum` Ansible's `copy` returns: MD5 of the contents, in hex.
pub fn md5sum(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
