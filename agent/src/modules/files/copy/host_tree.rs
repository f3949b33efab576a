//! `copy` of a directory on the host (`remote_src: true`), as Ansible's copy module does
//! it: `src/` copies what the directory holds into `dest`, `src` the directory itself into
//! `dest/<basename>`. A missing target is copied whole (modes and times kept); an existing
//! one gets the files that differ and those only in `src` (with their modes), recursively.
//! `owner`/`group` apply to the whole target; `mode` to `dest` itself.

use std::fs::{self, FileTimes};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::super::attrs::{self, AttrSpec, FileMode};
use super::super::{Action, Context, ModuleError, Outcome, Plan};
use super::dircmp::dircmp;
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
            changed |= copy_directory(Path::new(&from), Path::new(&to), ids, perform)?;
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

/// Refuses what dr does not copy as Ansible would: symlinks and special files inside `src`.
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
        } else if !kind.is_file() {
            return Err(ModuleError::Failed(format!(
                "copy: `{}` is a symlink or special file; copying a host directory holding one with `remote_src` is not supported by dr",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `copy_directory`: the whole tree when `to` is missing, else what differs.
fn copy_directory(from: &Path, to: &Path, ids: Attrs, perform: bool) -> Result<bool, ModuleError> {
    if !to.exists() {
        if perform {
            copytree(from, to)?;
            chown_recursive(to, ids, true)?;
        }
        return Ok(true);
    }
    let mut changed = copy_differences(from, to, ids, perform)?;
    changed |= copy_common_dirs(from, to, ids, perform)?;
    changed |= chown_recursive(to, ids, perform)?;
    Ok(changed)
}

/// The files that differ and the entries only in `from`, one level deep.
fn copy_differences(
    from: &Path,
    to: &Path,
    ids: Attrs,
    perform: bool,
) -> Result<bool, ModuleError> {
    let cmp = dircmp(from, to).map_err(|e| ModuleError::io("cannot compare", from.display(), e))?;
    if perform {
        for name in cmp.diff_files.iter().chain(&cmp.left_only) {
            let (s, d) = (from.join(name), to.join(name));
            if s.is_dir() {
                copytree(&s, &d)?;
                chown_recursive(&d, ids, true)?;
            } else {
                fs::copy(&s, &d).map_err(|e| ModuleError::io("cannot copy to", d.display(), e))?;
                chown_recursive(&d, ids, true)?;
            }
        }
    }
    Ok(!cmp.diff_files.is_empty() || !cmp.left_only.is_empty())
}

/// The same, in every directory both trees hold.
fn copy_common_dirs(
    from: &Path,
    to: &Path,
    ids: Attrs,
    perform: bool,
) -> Result<bool, ModuleError> {
    let cmp = dircmp(from, to).map_err(|e| ModuleError::io("cannot compare", from.display(), e))?;
    let mut changed = false;
    for name in &cmp.common_dirs {
        let (s, d) = (from.join(name), to.join(name));
        changed |= copy_differences(&s, &d, ids, perform)?;
        changed |= copy_common_dirs(&s, &d, ids, perform)?;
    }
    Ok(changed)
}

/// Python's `shutil.copytree`: directories and files with their modes and times.
fn copytree(from: &Path, to: &Path) -> Result<(), ModuleError> {
    fs::create_dir_all(to)
        .map_err(|e| ModuleError::io("cannot create directory", to.display(), e))?;
    let entries =
        fs::read_dir(from).map_err(|e| ModuleError::io("cannot read", from.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModuleError::io("cannot read", from.display(), e))?;
        let (s, d) = (entry.path(), to.join(entry.file_name()));
        if s.is_dir() {
            copytree(&s, &d)?;
        } else {
            fs::copy(&s, &d).map_err(|e| ModuleError::io("cannot copy to", d.display(), e))?;
            copy_times(&s, &d)?;
        }
    }
    let mode = fs::metadata(from)
        .map_err(|e| ModuleError::io("cannot stat", from.display(), e))?
        .permissions()
        .mode();
    fs::set_permissions(to, fs::Permissions::from_mode(mode & 0o7777))
        .map_err(|e| ModuleError::io("cannot set the mode of", to.display(), e))?;
    copy_times(from, to)
}

/// Gives `to` the access and modification times of `from`.
fn copy_times(from: &Path, to: &Path) -> Result<(), ModuleError> {
    let meta = fs::metadata(from).map_err(|e| ModuleError::io("cannot stat", from.display(), e))?;
    let times = FileTimes::new()
        .set_accessed(
            meta.accessed()
                .map_err(|e| ModuleError::io("cannot stat", from.display(), e))?,
        )
        .set_modified(
            meta.modified()
                .map_err(|e| ModuleError::io("cannot stat", from.display(), e))?,
        );
    let file = if to.is_dir() {
        fs::File::open(to)
    } else {
        fs::OpenOptions::new().write(true).open(to)
    };
    file.and_then(|f| f.set_times(times))
        .map_err(|e| ModuleError::io("cannot set the times of", to.display(), e))
}

/// Gives `owner`/`group` to `path` and everything under it; whether any differed.
fn chown_recursive(path: &Path, ids: Attrs, perform: bool) -> Result<bool, ModuleError> {
    if ids.uid.is_none() && ids.gid.is_none() {
        return Ok(false);
    }
    let current =
        Current::of(path).map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
    let (delta, _) = attrs::changes(path, &current, ids);
    let mut changed = attrs::any(&delta);
    if perform {
        set(path, delta)?;
    }
    let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir {
        let entries =
            fs::read_dir(path).map_err(|e| ModuleError::io("cannot read", path.display(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ModuleError::io("cannot read", path.display(), e))?;
            changed |= chown_recursive(&entry.path(), ids, perform)?;
        }
    }
    Ok(changed)
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
