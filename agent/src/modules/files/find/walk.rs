//! Python's `os.walk` (top-down) and `os.path.normpath` on byte paths, so that entries come
//! in the order Ansible's `find` sees them: each directory's non-directories then its
//! directories, both as the directory lists them, then each subdirectory in turn.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One directory as `os.walk` yields it.
pub(in crate::modules) struct Level {
    /// The directory, as joined from the top.
    pub root: Vec<u8>,
    /// Entries that are directories (symlinks to directories included).
    pub dirs: Vec<Vec<u8>>,
    /// Every other entry.
    pub files: Vec<Vec<u8>>,
}

/// What the visitor says after a level.
pub(in crate::modules) enum Next {
    /// Walk into the level's `dirs` (those left in it).
    Descend,
    /// Stop the whole walk.
    Stop,
}

/// Told of a directory that cannot be listed; an error stops the walk.
pub(in crate::modules) type OnError<'a, E> = dyn FnMut(&[u8], io::Error) -> Result<(), E> + 'a;

/// Walks `top` as `os.walk(top, followlinks=follow, topdown=True)`: `visit` sees each level
/// and may prune its `dirs`; `on_error` gets a directory that cannot be listed.
pub(in crate::modules) fn walk<E>(
    top: &[u8],
    follow: bool,
    visit: &mut dyn FnMut(&mut Level) -> Result<Next, E>,
    on_error: &mut OnError<'_, E>,
) -> Result<bool, E> {
    let entries = match fs::read_dir(path(top)).and_then(|it| it.collect::<io::Result<Vec<_>>>()) {
        Ok(entries) => entries,
        Err(e) => {
            on_error(top, e)?;
            return Ok(true);
        }
    };
    let mut level = Level {
        root: top.to_vec(),
        dirs: Vec::new(),
        files: Vec::new(),
    };
    for entry in entries {
        let name = entry.file_name().as_bytes().to_vec();
        // `DirEntry.is_dir()` in Python follows symlinks; an error counts as "not a dir".
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()),
            Ok(t) => t.is_dir(),
            Err(_) => false,
        };
        if is_dir {
            level.dirs.push(name);
        } else {
            level.files.push(name);
        }
    }
    if let Next::Stop = visit(&mut level)? {
        return Ok(false);
    }
    for dir in &level.dirs {
        let sub = join(top, dir);
        let is_link = fs::symlink_metadata(path(&sub)).is_ok_and(|m| m.file_type().is_symlink());
        if (follow || !is_link) && !walk(&sub, follow, visit, on_error)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A byte path as a [`Path`].
pub(super) fn path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// `os.path.join(a, b)` for a relative `b`.
pub(in crate::modules) fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    if !out.is_empty() && !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(b);
    out
}

/// `os.path.normpath` on POSIX: `.` and empty parts dropped, `..` folded where it can be,
/// a leading `//` (exactly two) kept.
pub(super) fn normpath(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let lead: &[u8] = if p.starts_with(b"//") && !p.starts_with(b"///") {
        b"//"
    } else if p.starts_with(b"/") {
        b"/"
    } else {
        b""
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in p.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|last| *last != b"..") {
                    parts.pop();
                } else if lead.is_empty() {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = lead.to_vec();
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}
