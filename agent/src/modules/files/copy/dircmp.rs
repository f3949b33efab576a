//! The comparison of two directories that Ansible's `remote_src` directory copy relies on
//! (Python's `filecmp.dircmp` on byte paths): names only in the left directory, regular
//! files that differ (type, size and mtime the same counts as equal, else the contents
//! decide), and directories in both.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What two directories have in common and not, one level deep.
#[derive(Debug, Default)]
pub(super) struct DirCmp {
    /// Entries only in the left directory.
    pub left_only: Vec<OsString>,
    /// Regular files in both that differ.
    pub diff_files: Vec<OsString>,
    /// Directories in both.
    pub common_dirs: Vec<OsString>,
}

/// The sorted names in `dir`. Ansible compares byte paths, which `dircmp`'s default
/// ignore list (`.git`, `CVS`, ...: text names) never matches: nothing is left out.
fn names(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut out = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// Compares `left` and `right` as `filecmp.dircmp(left, right)` does.
pub(super) fn dircmp(left: &Path, right: &Path) -> io::Result<DirCmp> {
    let right_names = names(right)?;
    let mut out = DirCmp::default();
    for name in names(left)? {
        if right_names.binary_search(&name).is_err() {
            out.left_only.push(name);
            continue;
        }
        // Unreadable or of different types: "funny", neither copied nor compared.
        let (Ok(a), Ok(b)) = (
            fs::metadata(left.join(&name)),
            fs::metadata(right.join(&name)),
        ) else {
            continue;
        };
        if a.is_dir() && b.is_dir() {
            out.common_dirs.push(name);
        } else if a.is_file() && b.is_file() {
            match same_file(&left.join(&name), &a, &right.join(&name), &b) {
                Ok(true) | Err(_) => {}
                Ok(false) => out.diff_files.push(name),
            }
        }
    }
    Ok(out)
}

/// The modification time as Python's float `st_mtime`.
fn mtime(m: &Metadata) -> f64 {
    m.mtime() as f64 + m.mtime_nsec() as f64 * 1e-9
}

/// `filecmp.cmp(a, b, shallow=True)` for two regular files.
fn same_file(a: &Path, ma: &Metadata, b: &Path, mb: &Metadata) -> io::Result<bool> {
    if ma.size() == mb.size() && mtime(ma) == mtime(mb) {
        return Ok(true);
    }
    if ma.size() != mb.size() {
        return Ok(false);
    }
    let (mut fa, mut fb) = (fs::File::open(a)?, fs::File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 8192], vec![0u8; 8192]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
