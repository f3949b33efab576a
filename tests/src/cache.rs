//! Where the test bed keeps what outlives one run: the root filesystem build, the
//! apt mirror's packages and the test SSH key; and the lock that serialises builds.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command;
use crate::error::{Error, Result};

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "DR_TESTBED_CACHE";

/// The test bed's cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// Held while images are checked or built; other processes wait for it.
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

impl Cache {
    /// `$DR_TESTBED_CACHE`, else `$XDG_CACHE_HOME/dr-testbed`, else
    /// `~/.cache/dr-testbed`; created if missing.
    pub fn open() -> Result<Cache> {
        let dir = if let Some(dir) = std::env::var_os(CACHE_ENV) {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            PathBuf::from(dir).join("dr-testbed")
        } else if let Some(home) = std::env::var_os("HOME") {
            PathBuf::from(home).join(".cache").join("dr-testbed")
        } else {
            std::env::temp_dir().join("dr-testbed")
        };
        Cache::at(dir)
    }

    /// A cache in `dir`, created if missing.
    pub fn at(dir: impl Into<PathBuf>) -> Result<Cache> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Cache { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the build lock, waiting for other processes that hold it.
    pub fn lock_builds(&self) -> Result<BuildLock> {
        let path = self.dir.join("build.lock");
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(BuildLock { _file: file })
    }

    /// The test bed's SSH key pair (ed25519, no passphrase), made on first use.
    /// Returns the private key's path; the public key is beside it with `.pub`.
    /// Call with the build lock held.
    pub fn ssh_key(&self, _lock: &BuildLock) -> Result<PathBuf> {
        let key = self.dir.join("id_ed25519");
        let public = key.with_extension("pub");
        if !(key.exists() && public.exists()) {
            let _ = fs::remove_file(&key);
            let _ = fs::remove_file(&public);
            command::run(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", "dr-testbed", "-f"])
                    .arg(&key),
            )?;
        }
        // ssh refuses a private key others can read.
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(&key, e))?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_private_key_only_its_owner_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::at(dir.path()).expect("cache");
        let lock = cache.lock_builds().expect("lock");
        let key = cache.ssh_key(&lock).expect("ssh key");
        let mode = fs::metadata(&key)
            .expect("key metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let public = fs::read_to_string(key.with_extension("pub")).expect("public key");
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        // A second call keeps the same key.
        let again = cache.ssh_key(&lock).expect("ssh key again");
        let public_again = fs::read_to_string(again.with_extension("pub")).expect("public key");
        assert_eq!(public, public_again);
    }
}
