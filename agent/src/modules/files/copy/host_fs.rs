//! The file operations Ansible's `remote_src` directory copy makes through Python's
//! `shutil` and its own `chown_recursive`: `copyfile` (content, following links at both
//! ends), `copy2` (and mode and times), `copytree` (links kept or followed), and owner and
//! group given to a tree without following its links. Every file is written to a
//! temporary file beside it and renamed into place: never half of one.

use std::fs::{self, FileTimes};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::super::ModuleError;
use crate::fsutil::{self, Attrs};

/// What a copied file's mode becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopiedMode {
    /// The source's (`shutil.copymode`, `copy2`).
    Source,
    /// An existing file's stays; a new one gets `0666` less the umask (`copyfile` alone).
    Kept,
}

/// Copies the content of `from` onto `to` as `shutil.copyfile` does (a link at either end
/// is followed: a link at `to` has its target rewritten), with `mode`, and with the
/// source's access and modification times when `times` (`copy2`).
pub(super) fn copy_file(
    from: &Path,
    to: &Path,
    mode: CopiedMode,
    times: bool,
) -> Result<(), ModuleError> {
    let target = if to.is_symlink() {
        fs::canonicalize(to).map_err(|e| ModuleError::io("cannot resolve", to.display(), e))?
    } else {
        to.to_path_buf()
    };
    let meta = fs::metadata(from).map_err(|e| ModuleError::io("cannot stat", from.display(), e))?;
    // Python's `copyfile` refuses a named pipe; a socket or device is no file to copy either.
    if !meta.is_file() {
        return Err(ModuleError::Failed(format!(
            "copy: `{}` is not a regular file",
            from.display()
        )));
    }
    let mut source =
        fs::File::open(from).map_err(|e| ModuleError::io("cannot read", from.display(), e))?;
    let mut tmp = fsutil::temp_beside(&target).map_err(|e| {
        ModuleError::io("cannot create a temporary file beside", target.display(), e)
    })?;
    io::copy(&mut source, tmp.as_file_mut())
        .map_err(|e| ModuleError::io("cannot copy to", target.display(), e))?;
    if times {
        tmp.as_file()
            .set_times(file_times(&meta, from)?)
            .map_err(|e| ModuleError::io("cannot set the times of", target.display(), e))?;
    }
    let attrs = Attrs {
        mode: (mode == CopiedMode::Source).then_some(meta.mode() & 0o7777),
        ..Attrs::default()
    };
    fsutil::persist_temp(tmp, &target, attrs, 0o666 & !fsutil::umask())
        .map_err(|e| ModuleError::io("cannot write", target.display(), e))
}

/// `shutil.copytree(from, to, symlinks=links)`: every directory made with the source's
/// mode and times, every file copied with `copy2`, every symlink recreated as a link
/// (`links`) or followed (a link to a directory copied as one). A link leading back into a
/// directory being copied is an error, where Python would recurse until a path is too long.
pub(super) fn copytree(from: &Path, to: &Path, links: bool) -> Result<(), ModuleError> {
    copytree_in(from, to, links, &mut Vec::new())
}

fn copytree_in(
    from: &Path,
    to: &Path,
    links: bool,
    ancestors: &mut Vec<(u64, u64)>,
) -> Result<(), ModuleError> {
    let meta = fs::metadata(from).map_err(|e| ModuleError::io("cannot stat", from.display(), e))?;
    let id = (meta.dev(), meta.ino());
    if ancestors.contains(&id) {
        return Err(ModuleError::Failed(format!(
            "copy: `{}` leads back into a directory being copied (a symlink loop)",
            from.display()
        )));
    }
    ancestors.push(id);
    fs::create_dir_all(to)
        .map_err(|e| ModuleError::io("cannot create directory", to.display(), e))?;
    let entries =
        fs::read_dir(from).map_err(|e| ModuleError::io("cannot read", from.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModuleError::io("cannot read", from.display(), e))?;
        let (s, d) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| ModuleError::io("cannot stat", s.display(), e))?;
        if kind.is_symlink() && links {
            copy_link(&s, &d)?;
        } else if s.is_dir() {
            copytree_in(&s, &d, links, ancestors)?;
        } else {
            copy_file(&s, &d, CopiedMode::Source, true)?;
        }
    }
    ancestors.pop();
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(|e| ModuleError::io("cannot set the mode of", to.display(), e))?;
    let dir = fs::File::open(to).map_err(|e| ModuleError::io("cannot open", to.display(), e))?;
    dir.set_times(file_times(&meta, from)?)
        .map_err(|e| ModuleError::io("cannot set the times of", to.display(), e))
}

/// A new link at `to` pointing where the link `from` points, with its times (`copytree`
/// with `symlinks=True`: `os.symlink` then `copystat(follow_symlinks=False)`).
fn copy_link(from: &Path, to: &Path) -> Result<(), ModuleError> {
    symlink_as(from, to)?;
    let meta = fs::symlink_metadata(from)
        .map_err(|e| ModuleError::io("cannot stat", from.display(), e))?;
    let at = |sec: i64, nsec: i64| rustix::fs::Timespec {
        tv_sec: sec,
        tv_nsec: nsec as _,
    };
    let times = rustix::fs::Timestamps {
        last_access: at(meta.atime(), meta.atime_nsec()),
        last_modification: at(meta.mtime(), meta.mtime_nsec()),
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        to,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| ModuleError::io("cannot set the times of", to.display(), e.into()))
}

/// A new link at `to` with the target of the link `from` (`os.symlink(os.readlink(from), to)`).
pub(super) fn symlink_as(from: &Path, to: &Path) -> Result<(), ModuleError> {
    let target: PathBuf = fs::read_link(from)
        .map_err(|e| ModuleError::io("cannot read the link", from.display(), e))?;
    std::os::unix::fs::symlink(&target, to)
        .map_err(|e| ModuleError::io("cannot create the link", to.display(), e))
}

/// The access and modification times of `meta` (of `path`).
fn file_times(meta: &fs::Metadata, path: &Path) -> Result<FileTimes, ModuleError> {
    let stat = |e| ModuleError::io("cannot stat", path.display(), e);
    Ok(FileTimes::new()
        .set_accessed(meta.accessed().map_err(stat)?)
        .set_modified(meta.modified().map_err(stat)?))
}

/// Ansible's `chown_recursive`: `ids` given to `path` and everything under it, links
/// themselves (`lchown`) and never followed below `path`; whether any differed. Nothing
/// is changed unless `perform`.
pub(super) fn chown_recursive(path: &Path, ids: Attrs, perform: bool) -> Result<bool, ModuleError> {
    if ids.uid.is_none() && ids.gid.is_none() {
        return Ok(false);
    }
    let mut changed = chown_path(path, ids, perform)?;
    if path.is_dir() {
        changed |= chown_below(path, ids, perform)?;
    }
    Ok(changed)
}

fn chown_below(dir: &Path, ids: Attrs, perform: bool) -> Result<bool, ModuleError> {
    let mut changed = false;
    let entries =
        fs::read_dir(dir).map_err(|e| ModuleError::io("cannot read", dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModuleError::io("cannot read", dir.display(), e))?;
        let path = entry.path();
        changed |= chown_path(&path, ids, perform)?;
        let kind = entry
            .file_type()
            .map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
        if kind.is_dir() {
            changed |= chown_below(&path, ids, perform)?;
        }
    }
    Ok(changed)
}

/// Ansible's `chown_path`: the owner and group of `path` itself (a link's own).
fn chown_path(path: &Path, ids: Attrs, perform: bool) -> Result<bool, ModuleError> {
    let meta = fs::symlink_metadata(path)
        .map_err(|e| ModuleError::io("cannot stat", path.display(), e))?;
    let uid = ids.uid.filter(|u| *u != meta.uid());
    let gid = ids.gid.filter(|g| *g != meta.gid());
    if uid.is_none() && gid.is_none() {
        return Ok(false);
    }
    if perform {
        std::os::unix::fs::lchown(path, uid, gid)
            .map_err(|e| ModuleError::io("cannot change the owner of", path.display(), e))?;
    }
    Ok(true)
}
