//! Bridged modules' payloads on the host: cached by SHA-256 beside the agent's own cache
//! (`$XDG_CACHE_HOME/dr/modules/<sha256>.zip`, else `~/.cache/dr/modules/`), written from
//! the request when it carries them, checked against their name every time they are used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::modules::ModuleError;

/// The cached payload named `sha256`, written first from `sent` (hash → base64 zip) when
/// the request carries it.
pub(super) fn materialize(
    sent: &BTreeMap<String, String>,
    sha256: &str,
) -> Result<PathBuf, ModuleError> {
    if !sha256.bytes().all(|b| b.is_ascii_hexdigit()) || sha256.len() != 64 {
        return Err(ModuleError::Failed(format!(
            "invalid payload name `{sha256}` (a bug in dr)"
        )));
    }
    let dir = cache_dir();
    let path = dir.join(format!("{sha256}.zip"));
    if let Ok(bytes) = std::fs::read(&path)
        && hex(&bytes) == sha256
    {
        return Ok(path);
    }
    let Some(encoded) = sent.get(sha256) else {
        return Err(ModuleError::Failed(format!(
            "the module payload `{sha256}` is neither in the request nor in `{}`; run dr again",
            dir.display()
        )));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| {
            ModuleError::Failed(format!("module payload `{sha256}`: {e} (a bug in dr)"))
        })?;
    if hex(&bytes) != sha256 {
        return Err(ModuleError::Failed(format!(
            "module payload `{sha256}` arrived damaged (its SHA-256 differs)"
        )));
    }
    write(&dir, &path, &bytes)?;
    Ok(path)
}

/// Where payloads are cached.
fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("dr").join("modules")
}

/// Writes `bytes` to `path` atomically (a temp file beside it, then a rename), so a
/// concurrent run reads the old state or the whole payload.
fn write(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), ModuleError> {
    use std::io::Write as _;
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ModuleError::io("cannot create", dir.display(), e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| ModuleError::io("cannot create a file in", dir.display(), e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| ModuleError::io("cannot write", tmp.path().display(), e))?;
    tmp.persist(path)
        .map_err(|e| ModuleError::io("cannot rename into", path.display(), e.error))?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_then_read_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"PK payload";
        let sha = hex(bytes);
        let dest = dir.path().join(format!("{sha}.zip"));
        write(dir.path(), &dest, bytes).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), bytes);
        // A damaged payload is refused before it is written.
        let mut sent = BTreeMap::new();
        sent.insert(
            "0".repeat(64),
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
        let err = materialize(&sent, &"0".repeat(64)).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        let err = materialize(&BTreeMap::new(), "../x").unwrap_err();
        assert!(err.to_string().contains("a bug in dr"), "{err}");
    }
}
