//! File-system helpers shared by the file modules: atomic writes, attributes, owners.
//!
//! A write goes to a temporary file in the destination's directory, is fsynced, gets its
//! mode and owner, and is renamed over the destination; then the directory is fsynced. A
//! crash leaves the old file or the new one, never half of one.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Gid, Uid};

/// Mode, owner and group to give a file; `None` keeps what is there (or the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits (`0o644`), including setuid/setgid/sticky.
    pub mode: Option<u32>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// Group gid.
    pub gid: Option<u32>,
}

/// The attributes of an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    /// Permission bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
}

impl Current {
    /// Reads the attributes of `path` (following symlinks).
    pub fn of(path: &Path) -> io::Result<Current> {
        let m = fs::metadata(path)?;
        Ok(Current {
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
        })
    }
}

/// Formats a mode as Ansible shows it (`0644`).
pub fn mode_string(mode: u32) -> String {
    format!("{mode:04o}")
}

/// Reads a file, `None` when it does not exist.
pub fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the file at `path` holds exactly `wanted`, read in chunks (the file is never held
/// whole); `None` when it does not exist.
pub fn same_content(path: &Path, wanted: &[u8]) -> io::Result<Option<bool>> {
    use std::io::Read;
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut rest = wanted;
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(Some(rest.is_empty()));
        }
        match rest.split_at_checked(n) {
            Some((head, tail)) if head == &buf[..n] => rest = tail,
            _ => return Ok(Some(false)),
        }
    }
}

/// Why an atomic write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The validation command rejected the new content; nothing was replaced.
    #[error("validation failed: {0}")]
    Invalid(String),
}

/// Atomically replaces (or creates) `path` with `data`.
///
/// The new file keeps the mode and owner of the file it replaces unless `attrs` sets them;
/// a new file gets `default_mode` and the agent's user.
pub fn write_atomic(path: &Path, data: &[u8], attrs: Attrs, default_mode: u32) -> io::Result<()> {
    write_atomic_with(path, data, attrs, default_mode, &|_| Ok(())).map_err(|e| match e {
        WriteError::Io(e) => e,
        WriteError::Invalid(m) => io::Error::other(m),
    })
}

/// [`write_atomic`], calling `validate` on the finished temporary file before it replaces
/// `path` (Ansible's `validate: visudo -cf %s`).
pub fn write_atomic_with(
    path: &Path,
    data: &[u8],
    attrs: Attrs,
    default_mode: u32,
    validate: &dyn Fn(&Path) -> Result<(), String>,
) -> Result<(), WriteError> {
    write_atomic_from(
        path,
        &mut |f| f.write_all(data),
        attrs,
        default_mode,
        validate,
    )
}

/// [`write_atomic_with`], the temporary file filled by `fill` (a copy streamed from another
/// file, never held whole).
fn write_atomic_from(
    path: &Path,
    fill: &mut dyn FnMut(&mut File) -> io::Result<()>,
    attrs: Attrs,
    default_mode: u32,
    validate: &dyn Fn(&Path) -> Result<(), String>,
) -> Result<(), WriteError> {
    let dir = parent(path);
    let existing = match Current::of(path) {
        Ok(c) => Some(c),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let mut tmp = temp_beside(path)?;
    fill(tmp.as_file_mut())?;
    finish_temp(&tmp, existing, path, attrs, default_mode)?;
    validate(tmp.path()).map_err(WriteError::Invalid)?;
    replace_with(tmp, path)?;
    sync_dir(dir)?;
    Ok(())
}

thread_local! {
    /// The running task asked for `unsafe_writes` (see [`with_unsafe_writes`]).
    static UNSAFE_WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with Ansible's `unsafe_writes` as `on`: when the atomic rename over a file
/// fails with EBUSY (a file bind-mounted into a container, such as `/etc/resolv.conf`), its
/// content is written in place instead, as Ansible's `atomic_move` does.
pub fn with_unsafe_writes<T>(on: bool, f: impl FnOnce() -> T) -> T {
    let before = UNSAFE_WRITES.with(|u| u.replace(on));
    let out = f();
    UNSAFE_WRITES.with(|u| u.set(before));
    out
}

/// Whether the running task allows unsafe writes (to carry it onto another thread).
pub fn unsafe_writes() -> bool {
    UNSAFE_WRITES.with(std::cell::Cell::get)
}

/// Renames the finished `tmp` over `path`; with `unsafe_writes` and EBUSY, copies it there
/// in place instead.
fn replace_with(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    match tmp.persist(path) {
        Ok(_) => Ok(()),
        Err(e)
            if unsafe_writes()
                && e.error.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) =>
        {
            let mut from = File::open(e.file.path())?;
            let mut to = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)?;
            io::copy(&mut from, &mut to)?;
            to.sync_all()
        }
        Err(e) => Err(e.error),
    }
}

/// A new temporary file in `path`'s directory, named after it, removed when dropped.
pub fn temp_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".dr-tmp")
        .tempfile_in(parent(path))
}

/// Gives a finished temporary file its owner, extended attributes and mode (those of
/// `existing`, the file at `path` it will replace, unless `attrs` sets them; `default_mode`
/// for a new file) and fsyncs it.
fn finish_temp(
    tmp: &tempfile::NamedTempFile,
    existing: Option<Current>,
    path: &Path,
    attrs: Attrs,
    default_mode: u32,
) -> io::Result<()> {
    let mode = attrs
        .mode
        .or(existing.map(|c| c.mode))
        .unwrap_or(default_mode);
    let uid = attrs.uid.or(existing.map(|c| c.uid));
    let gid = attrs.gid.or(existing.map(|c| c.gid));
    // As Ansible's `atomic_move`: the replaced file's owner and extended attributes are
    // kept when the user may give them (a user other than root replacing root's file in a
    // world-writable directory may not); an owner the task asks for must be given.
    let kept_only = attrs.uid.is_none() && attrs.gid.is_none();
    let not_allowed =
        |e: &io::Error| e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error());
    match chown_fd(tmp.as_file(), uid, gid) {
        Err(e) if kept_only && not_allowed(&e) => {}
        other => other?,
    }
    // After chown, which clears file capabilities; before chmod, which an ACL's mask
    // follows (Ansible's order: chown, then `shutil.copystat`).
    if existing.is_some() {
        match crate::fsutil_xattr::copy(path, tmp.as_file()) {
            Err(e) if not_allowed(&e) => {}
            other => other?,
        }
    }
    // After chown: changing the owner clears setuid/setgid bits.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()
}

/// Renames a temporary file made by [`temp_beside`] over `path`, atomically, after giving
/// it its attributes as [`write_atomic`] does; then fsyncs the directory.
pub fn persist_temp(
    tmp: tempfile::NamedTempFile,
    path: &Path,
    attrs: Attrs,
    default_mode: u32,
) -> io::Result<()> {
    let existing = match Current::of(path) {
        Ok(c) => Some(c),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    finish_temp(&tmp, existing, path, attrs, default_mode)?;
    replace_with(tmp, path)?;
    sync_dir(parent(path))
}

/// Sets mode, owner and group of an existing path (no-op for `None`s).
pub fn set_attrs(path: &Path, attrs: Attrs) -> io::Result<()> {
    if attrs.uid.is_some() || attrs.gid.is_some() {
        rustix::fs::chown(
            path,
            attrs.uid.map(Uid::from_raw),
            attrs.gid.map(Gid::from_raw),
        )?;
    }
    if let Some(mode) = attrs.mode {
        fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn chown_fd(file: &File, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    let current = file.metadata()?;
    let uid = uid.filter(|u| *u != current.uid());
    let gid = gid.filter(|g| *g != current.gid());
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    rustix::fs::fchown(file, uid.map(Uid::from_raw), gid.map(Gid::from_raw))?;
    Ok(())
}

/// Fsyncs a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Copies `path` to `path.<PID>.<YYYY-MM-DD@HH:MM:SS>~` (Ansible's backup name) and returns it.
pub fn backup(path: &Path) -> io::Result<String> {
    let stamp = crate::clock::backup_stamp(std::time::SystemTime::now());
    let mut name = path.as_os_str().to_owned();
    // Ansible's `backup_local`: `NAME.PID.YYYY-MM-DD@HH:MM:SS~`.
    name.push(format!(".{}.{stamp}~", std::process::id()));
    let dest = Path::new(&name);
    let mut source = File::open(path)?;
    let current = Current::of(path)?;
    // Streamed: a backup of a large file must not hold it in memory.
    write_atomic_from(
        dest,
        &mut |f| io::copy(&mut source, f).map(drop),
        Attrs {
            mode: Some(current.mode),
            uid: Some(current.uid),
            gid: Some(current.gid),
        },
        current.mode,
        &|_| Ok(()),
    )
    .map_err(|e| match e {
        WriteError::Io(e) => e,
        WriteError::Invalid(m) => io::Error::other(m),
    })?;
    Ok(dest.to_string_lossy().into_owned())
}

/// Which database to resolve a name in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// `/etc/passwd`.
    User,
    /// `/etc/group`.
    Group,
}

/// Resolves a user or group given as a name or a numeric id.
pub fn resolve_id(db: Db, name: &str) -> Result<u32, String> {
    if let Ok(id) = name.trim().parse::<u32>() {
        return Ok(id);
    }
    let (file, what) = match db {
        Db::User => ("/etc/passwd", "user"),
        Db::Group => ("/etc/group", "group"),
    };
    let text = fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
    lookup_id(&text, name).ok_or_else(|| format!("{what} `{name}` does not exist on this host"))
}

/// Finds `name`'s id (third field) in passwd/group format text.
fn lookup_id(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        fields.nth(1)?.parse().ok()
    })
}

/// The name of a uid or gid, or the number when it has none.
pub fn id_name(db: Db, id: u32) -> String {
    let file = match db {
        Db::User => "/etc/passwd",
        Db::Group => "/etc/group",
    };
    fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                (f.get(2)?.parse::<u32>().ok()? == id).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

/// `path` with `.`, `..`, repeated and trailing slashes resolved without touching the disk
/// (`..` above `/` stays at `/`, as the kernel does).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The process umask, from `/proc/self/status` (never set and reset: other threads may be
/// creating files); 022 where the kernel does not say.
pub fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_mode_of_replaced_file_and_defaults_new_ones() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("f");
        write_atomic(&p, b"one", Attrs::default(), 0o600).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Current::of(&p).map(|c| c.mode).ok(), Some(0o600));
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
        write_atomic(&p, b"two", Attrs::default(), 0o600).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Current::of(&p).map(|c| c.mode).ok(), Some(0o640));
        assert_eq!(fs::read(&p).ok().as_deref(), Some(&b"two"[..]));
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .map(|r| r.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn backup_keeps_the_old_bytes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("f");
        fs::write(&p, "old").unwrap_or_else(|e| panic!("{e}"));
        let b = backup(&p).unwrap_or_else(|e| panic!("{e}"));
        // Ansible's name: `PATH.PID.YYYY-MM-DD@HH:MM:SS~`.
        let prefix = format!("/f.{}.20", std::process::id());
        assert!(b.ends_with('~') && b.contains(&prefix), "{b}");
        assert_eq!(fs::read_to_string(&b).ok().as_deref(), Some("old"));
    }

    #[test]
    fn ids_resolve_from_passwd_text() {
        let text = "root:x:0:0:root:/root:/bin/bash\napp:x:1001:1001::/home/app:/bin/sh\n";
        assert_eq!(lookup_id(text, "app"), Some(1001));
        assert_eq!(lookup_id(text, "nobody"), None);
        assert_eq!(resolve_id(Db::User, "42"), Ok(42));
        assert_eq!(resolve_id(Db::User, "root"), Ok(0));
    }
}

#[cfg(test)]
mod unsafe_writes_tests {
    use std::path::Path;
    use std::process::Command;

    use super::{Attrs, with_unsafe_writes, write_atomic};

    /// Unmounts the bind mount at `0` when dropped.
    struct Bound<'a>(&'a Path);

    impl Drop for Bound<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }

    #[test]
    fn a_bind_mounted_file_is_written_in_place_only_with_unsafe_writes() {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test bind-mounts a file: run it as root (tests/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (dir.path().join("source"), dir.path().join("target"));
        std::fs::write(&source, "old\n").unwrap();
        std::fs::write(&target, "").unwrap();
        let status = Command::new("mount")
            .arg("--bind")
            .arg(&source)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success(), "mount --bind failed");
        let _bound = Bound(&target);
        // As a container's /etc/resolv.conf: the rename over it fails with EBUSY.
        let err = write_atomic(&target, b"new\n", Attrs::default(), 0o644).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(rustix::io::Errno::BUSY.raw_os_error())
        );
        with_unsafe_writes(true, || {
            write_atomic(&target, b"new\n", Attrs::default(), 0o644).unwrap()
        });
        assert_eq!(std::fs::read_to_string(&source).unwrap(), "new\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "a temporary file was left behind");
    }
}
