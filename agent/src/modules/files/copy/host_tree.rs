//! `copy` of a directory on the host (`remote_src: true`), as Ansible's copy module does
//! it: `src/` copies what the directory holds into `dest`, `src` the directory itself into
//! `dest/<basename>`. A missing target is copied whole (modes and times kept); an existing
//! one gets the files that differ and those only in `src` (with their modes), recursively.
//! `owner`/`group` apply to the whole target; `mode` to `dest` itself. Symlinks in `src`
//! are kept, followed or left out as `local_follow` says (see [`Walk`]).

use std::fs;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::super::attrs::{self, AttrSpec, FileMode};
use super::super::{Action, Context, ModuleError, Outcome, Plan};
use super::dircmp::dircmp;
use super::host_fs::{CopiedMode, chown_recursive, copy_file, copytree, symlink_as};
use crate::fsutil::{Attrs, Current};

/// What a host directory copy is asked for.
pub(super) struct HostTree {
    pub src: String,
    pub dest: String,
    /// `mode` for `dest` itself (`preserve` already resolved to the source's bits).
    pub mode: Option<FileMode>,
    pub directory_mode: Option<FileMode>,
    pub owner: Option<Json>,
    pub group: Option<Json>,
    pub force: bool,
    pub follow: bool,
    /// Ansible's `local_follow` as given: `None` when the task leaves it out.
    pub local_follow: Option<bool>,
}

impl HostTree {
    /// Computes what would change (nothing is touched); the action does it.
    pub fn plan(self, _ctx: &Context<'_>) -> Result<Plan, ModuleError> {
        supported_source(Path::new(&self.src))?;
        let outcome = self.run(false)?;
        if !outcome.changed {
            return Ok(Plan::done(outcome));
        }
        Ok(Plan::change(outcome, Apply(self)))
    }

    /// The module's steps; with `perform` false only whether they would change anything.
    fn run(&self, perform: bool) -> Result<Outcome, ModuleError> {
        let ids = AttrSpec {
            mode: None,
            owner: self.owner.clone(),
            group: self.group.clone(),
        }
        .resolve("copy", None, false)?;
        let mut changed = false;
        let mut data = Map::new();
        data.insert("src".into(), Json::from(self.src.as_str()));
        let mut dest = self.dest.clone();
        if dest.ends_with('/') {
            let dirname = py_dirname(&dest);
            if !Path::new(&dirname).exists() {
                if !perform {
                    return Ok(Outcome {
                        changed: true,
                        msg: format!("dest directory {dirname} would be created"),
                        data,
                        ..Outcome::default()
                    });
                }
                self.make_dirs(&dirname, ids)?;
                changed = true;
            }
        }
        if Path::new(&dest).is_dir() {
            dest = py_join(&dest, py_basename(&self.src));
        }
        if Path::new(&dest).exists() {
            if self.follow && Path::new(&dest).is_symlink() {
                dest = fs::canonicalize(&dest)
                    .map_err(|e| ModuleError::io("cannot resolve", &dest, e))?
                    .display()
                    .to_string();
            }
            if !self.force {
                data.insert("dest".into(), Json::from(dest));
                return Ok(Outcome {
                    msg: "file already exists".into(),
                    data,
                    ..Outcome::default()
                });
            }
            if !Path::new(&dest).is_dir() {
                return Err(ModuleError::Failed(format!(
                    "copy: `{dest}` exists and is not a directory; dr copies a host directory only onto a directory"
                )));
            }
        } else {
            let parent = py_dirname(&dest);
            if !Path::new(&parent).exists() {
                return Err(ModuleError::Failed(format!(
                    "Destination directory {parent} does not exist"
                )));
            }
        }
        let given = Path::new(&self.dest);
        if given.is_dir() || !given.exists() {
            let (from, to) = if self.src.ends_with('/') {
                (self.src.clone(), self.dest.clone())
            } else {
                (
                    py_join(&self.src, ""),
                    py_join(&self.dest, py_basename(&self.src)),
                )
            };
            let walk = Walk {
                ids,
                local_follow: self.local_follow,
                perform,
            };
            changed |= walk.copy_directory(Path::new(&from), Path::new(&to))?;
        }
        changed |= self.dest_attrs(Path::new(&dest), perform)?;
        data.insert("dest".into(), Json::from(dest));
        data.insert("md5sum".into(), Json::Null);
        data.insert("checksum".into(), Json::Null);
        Ok(Outcome {
            changed,
            data,
            ..Outcome::default()
        })
    }

    /// Creates `dir` and its missing parents, giving each new one `directory_mode` and the
    /// task's owner and group.
    fn make_dirs(&self, dir: &str, ids: Attrs) -> Result<(), ModuleError> {
        let mut new = Vec::new();
        let mut p = Path::new(dir);
        while !p.as_os_str().is_empty() && !p.exists() {
            new.push(p.to_path_buf());
            p = p.parent().unwrap_or(Path::new(""));
        }
        fs::create_dir_all(dir).map_err(|e| ModuleError::io("cannot create directory", dir, e))?;
        for d in new.iter().rev() {
            let current =
                Current::of(d).map_err(|e| ModuleError::io("cannot stat", d.display(), e))?;
            let wanted = AttrSpec {
                mode: self.directory_mode.clone(),
                ..AttrSpec::default()
            }
            .resolve("copy", Some(current.mode), true)?;
            let wanted = Attrs {
                mode: wanted.mode,
                ..ids
            };
            let (delta, _) = attrs::changes(d, &current, wanted);
            set(d, delta)?;
        }
        Ok(())
    }

    /// `mode`, `owner` and `group` of the reported `dest` itself.
    fn dest_attrs(&self, dest: &Path, perform: bool) -> Result<bool, ModuleError> {
        let spec = AttrSpec {
            mode: self.mode.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
        };
        if spec.mode.is_none() && spec.owner.is_none() && spec.group.is_none() {
            return Ok(false);
        }
        let Ok(current) = Current::of(dest) else {
            // Not there yet in check mode: Ansible counts that as a change.
            return Ok(!perform);
        };
        let wanted = spec.resolve("copy", Some(current.mode), dest.is_dir())?;
        let (delta, _) = attrs::changes(dest, &current, wanted);
        if perform {
            set(dest, delta)?;
        }
        Ok(attrs::any(&delta))
    }
}

/// Performs a host directory copy.
struct Apply(HostTree);

impl Action for Apply {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        self.0.run(true)
    }
}

/// Refuses what dr does not copy as Ansible would: special files (named pipes, sockets,
/// devices) inside `src`. Symlinks are not followed here.
fn supported_source(dir: &Path) -> Result<(), ModuleError> {
    let entries =
        fs::read_dir(dir).map_err(|e| ModuleError::io("cannot read", dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModuleError::io("cannot read", dir.display(), e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
        if kind.is_dir() {
            supported_source(&path)?;
        } else if !kind.is_file() && !kind.is_symlink() {
            return Err(ModuleError::Failed(format!(
                "copy: `{}` is a special file; copying a host directory holding one with `remote_src` is not supported by dr",
                path.display()
            )));
        }
    }
    Ok(())
}

/// How a directory copy treats the source's symlinks: Ansible's `local_follow`, which
/// its module leaves unset (neither true nor false) unless the task gives it.
#[derive(Debug, Clone, Copy)]
struct Walk {
    ids: Attrs,
    local_follow: Option<bool>,
    perform: bool,
}

impl Walk {
    /// `copytree`'s `symlinks=not local_follow`: links kept unless `local_follow` is true.
    fn keep_links(self) -> bool {
        self.local_follow != Some(true)
    }

    /// `copy_directory`: the whole tree when `to` is missing, else what differs.
    fn copy_directory(self, from: &Path, to: &Path) -> Result<bool, ModuleError> {
        if !to.exists() {
            if self.perform {
                copytree(from, to, self.keep_links())?;
                chown_recursive(to, self.ids, true)?;
            }
            return Ok(true);
        }
        let mut changed = self.copy_diff_files(from, to)?;
        changed |= self.copy_left_only(from, to)?;
        changed |= self.copy_common_dirs(from, to)?;
        changed |= chown_recursive(to, self.ids, self.perform)?;
        Ok(changed)
    }

    /// `copy_diff_files`: regular files (links followed) in both that differ get the
    /// source's content and mode; with `local_follow: false` a source link is linked
    /// again, which fails as Ansible's `os.symlink` does, the name being taken.
    fn copy_diff_files(self, from: &Path, to: &Path) -> Result<bool, ModuleError> {
        let cmp = compare(from, to)?;
        if self.perform {
            for name in &cmp.diff_files {
                let (s, d) = (from.join(name), to.join(name));
                if s.is_symlink() && self.local_follow == Some(false) {
                    symlink_as(&s, &d)?;
                } else {
                    copy_file(&s, &d, CopiedMode::Source, false)?;
                }
            }
        }
        Ok(!cmp.diff_files.is_empty())
    }

    /// `copy_left_only`: what only `from` holds. A link is followed with `local_follow:
    /// true`, linked again with `false`, and left out without it, as is a link pointing
    /// nowhere and a special file; each still counts as a change, as in Ansible.
    fn copy_left_only(self, from: &Path, to: &Path) -> Result<bool, ModuleError> {
        let cmp = compare(from, to)?;
        if self.perform {
            for name in &cmp.left_only {
                let (s, d) = (from.join(name), to.join(name));
                let (link, dir, file) = (s.is_symlink(), s.is_dir(), s.is_file());
                match (link, self.local_follow) {
                    (true, Some(true)) if dir => copytree(&s, &d, false)?,
                    (true, Some(true)) if file => copy_file(&s, &d, CopiedMode::Kept, false)?,
                    (true, Some(false)) if dir || file => symlink_as(&s, &d)?,
                    (false, _) if file => copy_file(&s, &d, CopiedMode::Source, false)?,
                    (false, _) if dir => copytree(&s, &d, self.keep_links())?,
                    _ => {}
                }
            }
        }
        Ok(!cmp.left_only.is_empty())
    }

    /// `copy_common_dirs`: the same in every directory both hold (links followed),
    /// recursively. A link back to a parent is followed too, as in Python, until the path
    /// holds too many links to resolve (ELOOP): then it is no directory to compare.
    fn copy_common_dirs(self, from: &Path, to: &Path) -> Result<bool, ModuleError> {
        let cmp = compare(from, to)?;
        let mut changed = false;
        for name in &cmp.common_dirs {
            let (s, d) = (from.join(name), to.join(name));
            changed |= self.copy_diff_files(&s, &d)?;
            changed |= self.copy_left_only(&s, &d)?;
            changed |= self.copy_common_dirs(&s, &d)?;
        }
        Ok(changed)
    }
}

/// [`dircmp`], its failure naming `from`.
fn compare(from: &Path, to: &Path) -> Result<super::dircmp::DirCmp, ModuleError> {
    dircmp(from, to).map_err(|e| ModuleError::io("cannot compare", from.display(), e))
}

/// Sets the attributes in `delta` (nothing when empty).
fn set(path: &Path, delta: Attrs) -> Result<(), ModuleError> {
    if !attrs::any(&delta) {
        return Ok(());
    }
    crate::fsutil::set_attrs(path, delta)
        .map_err(|e| ModuleError::io("cannot set attributes of", path.display(), e))
}

/// Python's `os.path.dirname`.
fn py_dirname(p: &str) -> String {
    let head = &p[..p.rfind('/').map_or(0, |i| i + 1)];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_owned()
    } else {
        head.to_owned()
    }
}

/// Python's `os.path.basename`.
fn py_basename(p: &str) -> &str {
    &p[p.rfind('/').map_or(0, |i| i + 1)..]
}

/// Python's `os.path.join` of two parts.
fn py_join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_owned()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}
