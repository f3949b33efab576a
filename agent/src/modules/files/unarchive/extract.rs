//! Writing members: each file goes to a temporary file beside its destination and is
//! renamed over it once complete (owner, mode and mtime set first), so a broken archive
//! never leaves a half-written file where a good one was. Directories get their final
//! mode last, deepest first, so a read-only directory does not stop its own members.

use std::fs::{self, FileTimes, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{Gid, Uid};

use super::archive::{Kind, Mtime};
use crate::fsutil::{self, Attrs};

/// Writes member data to `path` atomically with `attrs` and `mtime`.
pub fn file(path: &Path, data: &mut dyn Read, attrs: Attrs, mtime: Mtime) -> io::Result<()> {
    clear_dir(path)?;
    let mut tmp = fsutil::temp_beside(path)?;
    {
        let mut out = io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        io::copy(data, &mut out)?;
        out.flush()?;
    }
    let f = tmp.as_file();
    if attrs.uid.is_some() || attrs.gid.is_some() {
        rustix::fs::fchown(
            f,
            attrs.uid.map(Uid::from_raw),
            attrs.gid.map(Gid::from_raw),
        )?;
    }
    // After chown, which clears setuid/setgid.
    if let Some(mode) = attrs.mode {
        f.set_permissions(Permissions::from_mode(mode))?;
    }
    f.set_times(FileTimes::new().set_modified(system_time(mtime)))?;
    f.sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Makes `path` a symlink to `target` (replacing what is there), owned as `attrs` says.
pub fn symlink(path: &Path, target: &str, attrs: Attrs) -> io::Result<()> {
    clear_dir(path)?;
    let tmp = temp_name(path);
    std::os::unix::fs::symlink(target, &tmp)?;
    if attrs.uid.is_some() || attrs.gid.is_some() {
        std::os::unix::fs::lchown(&tmp, attrs.uid, attrs.gid)?;
    }
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Makes `path` a hard link to `target` (replacing what is there).
pub fn hard_link(path: &Path, target: &Path) -> io::Result<()> {
    clear_dir(path)?;
    let tmp = temp_name(path);
    fs::hard_link(target, &tmp)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Makes `path` a directory (replacing a file or link that is there). Its attributes are
/// set later by [`finish_dirs`].
pub fn dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir(path)
}

/// A directory whose attributes are set once everything below it is written.
pub struct PendingDir {
    /// Where it is.
    pub path: PathBuf,
    /// Its attributes.
    pub attrs: Attrs,
    /// Its mtime, when the archive's is to be set (a directory it created or replaced).
    pub mtime: Option<Mtime>,
}

/// Sets the attributes of directories, deepest first.
pub fn finish_dirs(mut dirs: Vec<PendingDir>) -> io::Result<()> {
    dirs.sort_by_key(|d| std::cmp::Reverse(d.path.components().count()));
    for d in dirs {
        fsutil::set_attrs(&d.path, d.attrs)?;
        if let Some(t) = d.mtime {
            let f = fs::File::open(&d.path)?;
            f.set_times(FileTimes::new().set_modified(system_time(t)))?;
        }
    }
    Ok(())
}

/// Sets attributes of a path, a link's own for a symlink.
pub fn attrs(path: &Path, kind: &Kind, attrs: Attrs) -> io::Result<()> {
    if matches!(kind, Kind::Symlink(_)) {
        if attrs.uid.is_some() || attrs.gid.is_some() {
            std::os::unix::fs::lchown(path, attrs.uid, attrs.gid)?;
        }
        return Ok(());
    }
    fsutil::set_attrs(path, attrs)
}

/// An empty directory where a file or link is to go is removed, as tar does; a directory
/// with something in it is an error.
fn clear_dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir(path),
        _ => Ok(()),
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    fsutil::parent(path).join(format!(".{name}.{:016x}.dr-tmp", fastrand::u64(..)))
}

fn system_time(t: Mtime) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.nanos));
    if t.secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
    }
}
