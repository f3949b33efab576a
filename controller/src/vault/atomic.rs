//! Atomic file replacement: temp file in the same directory, fsync, rename, fsync the
//! directory. A crash leaves the old file or the new one, never half of one, and never a
//! stray temp file once the process ends normally (the temp file is removed on every error).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::VaultError;

/// Mode for files that hold plaintext secrets.
pub const PRIVATE_MODE: u32 = 0o600;

/// Writes `contents` to `path` atomically. `mode` is used when the file is new, or always
/// when `force_mode` (plaintext must never inherit a looser mode from the vault it replaces).
pub fn write(path: &Path, contents: &[u8], mode: u32, force_mode: bool) -> Result<(), VaultError> {
    let dir = parent_dir(path);
    let final_mode = match fs::metadata(path) {
        Ok(meta) if !force_mode => meta.permissions().mode() & 0o7777,
        _ => mode,
    };
    // NamedTempFile is created 0600 and removed on drop, so an error below leaves nothing.
    let mut tmp = tempfile::Builder::new()
        .prefix(".dr-vault-")
        .tempfile_in(&dir)
        .map_err(|e| VaultError::io("create a temporary file in", &dir, e))?;
    let werr = |e| VaultError::io("write", path, e);
    tmp.write_all(contents).map_err(werr)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(final_mode))
        .map_err(werr)?;
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_existing_mode_unless_forced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.yml");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        write(&path, b"new", 0o644, false).expect("atomic write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        write(&path, b"plain", PRIVATE_MODE, true).expect("atomic write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }
}
