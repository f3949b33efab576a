//! Whether a member is already on disk as the archive has it, by Ansible's rules: GNU
//! `tar --diff` for tarballs (type, size, mtime to the nanosecond, content, mode, and as
//! root the owner), ZipArchive's comparison for zip (type, size, mtime, content, mode,
//! owner and group against the user extracting).

use std::collections::HashMap;
use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::archive::{Handler, Kind, Member, Mtime};
use crate::fsutil::{self, Attrs, Db};
use crate::modules::attrs::FileMode;

/// How members are compared and written, fixed for one task.
#[derive(Debug)]
pub struct Rules {
    /// The archive's handler.
    pub handler: Handler,
    /// The agent runs as root (tar then restores owners and exact modes).
    pub root: bool,
    /// The process umask (applied by tar when not root).
    pub umask: u32,
    /// The user extracting.
    pub run_uid: u32,
    /// Their group.
    pub run_gid: u32,
    /// `owner`, resolved.
    pub owner: Option<u32>,
    /// `group`, resolved.
    pub group: Option<u32>,
    /// `mode`.
    pub mode: Option<FileMode>,
    /// `keep_newer`.
    pub keep_newer: bool,
    /// Owner and group names of the archive, resolved on this host.
    ids: HashMap<(bool, String), Option<u32>>,
}

/// What a member needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing: it is on disk as the archive has it.
    Nothing,
    /// To be written (created or replaced), with the reason.
    Write(&'static str),
    /// Only these attributes changed.
    Attrs(Attrs),
}

impl Rules {
    /// Rules for one task.
    pub fn new(
        handler: Handler,
        owner: Option<u32>,
        group: Option<u32>,
        mode: Option<FileMode>,
        keep_newer: bool,
    ) -> Rules {
        let run_uid = rustix::process::geteuid().as_raw();
        Rules {
            handler,
            root: run_uid == 0,
            umask: crate::fsutil::umask(),
            run_uid,
            run_gid: rustix::process::getegid().as_raw(),
            owner,
            group,
            mode,
            keep_newer,
            ids: HashMap::new(),
        }
    }

    /// The mode the extraction itself gives a member (before `mode`).
    pub fn extract_mode(&self, m: &Member) -> u32 {
        if self.handler.is_tar() && !self.root {
            m.mode & !self.umask & 0o7777
        } else {
            m.mode
        }
    }

    /// The attributes `m` must end with; `current` is its mode on disk, if any (a symbolic
    /// `mode` applies to it, as Ansible applies it after extracting).
    pub fn wanted(&mut self, m: &Member, current: Option<u32>) -> Result<Attrs, String> {
        let is_dir = m.kind == Kind::Dir;
        let (mut uid, mut gid) = (self.owner, self.group);
        match (&m.owner, self.handler) {
            (_, Handler::Zip) => {
                uid = uid.or(Some(self.run_uid));
                gid = gid.or(Some(self.run_gid));
            }
            (Some(o), _) if self.root => {
                if uid.is_none() {
                    uid = Some(self.id(Db::User, o.uname.as_deref(), o.uid));
                }
                if gid.is_none() {
                    gid = Some(self.id(Db::Group, o.gname.as_deref(), o.gid));
                }
            }
            _ => {}
        }
        if matches!(m.kind, Kind::Symlink(_)) {
            // A link's own owner counts (tar and unzip set it); it has no mode of its own.
            return Ok(Attrs {
                mode: None,
                uid,
                gid,
            });
        }
        let base = current.unwrap_or_else(|| self.extract_mode(m));
        let mode = match &self.mode {
            Some(want) => want.resolve(base, is_dir)?,
            None => self.extract_mode(m),
        };
        Ok(Attrs {
            mode: Some(mode),
            uid,
            gid,
        })
    }

    /// An archive owner or group as tar restores it as root: by name when the host knows
    /// it, else by number.
    fn id(&mut self, db: Db, name: Option<&str>, number: u32) -> u32 {
        let Some(name) = name else {
            return number;
        };
        let key = (db == Db::User, name.to_owned());
        *self
            .ids
            .entry(key)
            .or_insert_with(|| fsutil::resolve_id(db, name).ok())
            .get_or_insert(number)
    }

    /// Compares member `m` (its data readable from `data`) with `path`; `link_target` is
    /// where a hard link's target lands.
    pub fn judge(
        &mut self,
        m: &Member,
        path: &Path,
        link_target: Option<&Path>,
        data: &mut dyn Read,
    ) -> io::Result<Need> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Need::Write("missing")),
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        match &m.kind {
            Kind::Dir if !ft.is_dir() => return Ok(Need::Write("not a directory")),
            Kind::Symlink(_) if !ft.is_symlink() => return Ok(Need::Write("not a symlink")),
            Kind::Symlink(target) => {
                if std::fs::read_link(path)?.as_os_str() != target.as_str() {
                    return Ok(Need::Write("link target differs"));
                }
            }
            Kind::HardLink(_) => {
                let same = link_target
                    .and_then(|t| std::fs::symlink_metadata(t).ok())
                    .is_some_and(|t| t.ino() == meta.ino() && t.dev() == meta.dev());
                if !same {
                    return Ok(Need::Write("not linked to its target"));
                }
            }
            Kind::File if !ft.is_file() => return Ok(Need::Write("not a regular file")),
            Kind::File => {
                let on_disk = mtime_of(&meta);
                if self.keep_newer && on_disk > m.mtime {
                    // Newer on disk: kept as it is; only an explicit mode, owner or group
                    // still applies (Ansible leaves such a file out of its comparison).
                    return self.explicit_only(m, &meta);
                }
                if on_disk != m.mtime {
                    return Ok(Need::Write("mtime differs"));
                }
                if meta.len() != m.size {
                    return Ok(Need::Write("size differs"));
                }
                if !same_content(path, data)? {
                    return Ok(Need::Write("content differs"));
                }
            }
            Kind::Dir => {}
        }
        self.attrs_only(m, &meta)
    }

    fn attrs_only(&mut self, m: &Member, meta: &Metadata) -> io::Result<Need> {
        let current = meta.permissions().mode() & 0o7777;
        let wanted = self.wanted(m, Some(current)).map_err(io::Error::other)?;
        Ok(Self::differ(wanted, current, meta))
    }

    fn explicit_only(&mut self, m: &Member, meta: &Metadata) -> io::Result<Need> {
        let current = meta.permissions().mode() & 0o7777;
        let mode = match &self.mode {
            Some(want) => Some(
                want.resolve(current, m.kind == Kind::Dir)
                    .map_err(io::Error::other)?,
            ),
            None => None,
        };
        let wanted = Attrs {
            mode,
            uid: self.owner,
            gid: self.group,
        };
        Ok(Self::differ(wanted, current, meta))
    }

    fn differ(wanted: Attrs, current: u32, meta: &Metadata) -> Need {
        let differ = Attrs {
            mode: wanted.mode.filter(|w| *w != current),
            uid: wanted.uid.filter(|w| *w != meta.uid()),
            gid: wanted.gid.filter(|w| *w != meta.gid()),
        };
        if differ == Attrs::default() {
            Need::Nothing
        } else {
            Need::Attrs(differ)
        }
    }
}

/// A file's mtime as [`Mtime`].
pub fn mtime_of(meta: &Metadata) -> Mtime {
    Mtime {
        secs: meta.mtime(),
        nanos: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
    }
}

/// Whether the file at `path` holds exactly what `data` yields, compared in chunks.
fn same_content(path: &Path, data: &mut dyn Read) -> io::Result<bool> {
    let mut file = io::BufReader::new(std::fs::File::open(path)?);
    let mut a = vec![0u8; 64 * 1024];
    let mut b = vec![0u8; 64 * 1024];
    loop {
        let n = read_full(data, &mut a)?;
        let k = read_full(&mut file, &mut b[..n.max(1)])?;
        if n != k || a[..n] != b[..k] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_compared_to_the_byte() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("f");
        std::fs::write(&f, b"hello").unwrap_or_else(|e| panic!("{e}"));
        assert!(same_content(&f, &mut &b"hello"[..]).unwrap_or(false));
        assert!(!same_content(&f, &mut &b"hellO"[..]).unwrap_or(true));
        assert!(!same_content(&f, &mut &b"hello!"[..]).unwrap_or(true));
        assert!(!same_content(&f, &mut &b"hell"[..]).unwrap_or(true));
    }

    #[test]
    fn the_umask_is_read() {
        assert!(crate::fsutil::umask() <= 0o777);
    }
}
