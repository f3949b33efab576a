//! The extended attributes of a file being replaced — POSIX ACLs
//! (`system.posix_acl_access`), `user.*` attributes, SELinux labels — carried over to the
//! new file, as Ansible's `atomic_move` does with `shutil.copystat`: a `copy`, `template`
//! or `lineinfile` of a file keeps who else may read it. An attribute the new file cannot
//! take (no permission, not supported there) is left out, as Python does.

use std::fs::File;
use std::io;
use std::path::Path;

use rustix::fs::{XattrFlags, fsetxattr, getxattr, listxattr};
use rustix::io::Errno;

/// Copies `from`'s extended attributes onto `to`.
pub(crate) fn copy(from: &Path, to: &File) -> io::Result<()> {
    let names = match list(from) {
        Ok(names) => names,
        Err(e) if ignorable(e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for name in names {
        let value = match read(from, &name) {
            Ok(v) => v,
            Err(e) if ignorable(e) => continue,
            Err(e) => return Err(e.into()),
        };
        match fsetxattr(to, name.as_slice(), &value, XattrFlags::empty()) {
            Ok(()) => {}
            Err(e) if ignorable(e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What Python's `_copyxattr` passes over: no permission, not supported, gone, invalid.
fn ignorable(e: Errno) -> bool {
    matches!(
        e,
        Errno::PERM | Errno::NOTSUP | Errno::NODATA | Errno::INVAL | Errno::ACCESS
    )
}

fn list(path: &Path) -> Result<Vec<Vec<u8>>, Errno> {
    let mut buf = vec![0u8; 1024];
    loop {
        match listxattr(path, &mut buf[..]) {
            Ok(n) => {
                return Ok(buf[..n]
                    .split(|b| *b == 0)
                    .filter(|n| !n.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect());
            }
            Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e),
        }
    }
}

fn read(path: &Path, name: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 256];
    loop {
        match getxattr(path, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e),
        }
    }
}
