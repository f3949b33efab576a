//! One apply at a time per inventory and playbook set (like Terraform's state lock).
//!
//! Two applies of the same playbooks on the same inventory would race on the same files and
//! services, and the later write silently wins. An apply holds an exclusive `flock` on
//! `.dr/locks/apply-<key>.lock` (beside `dr.toml`, else in the working directory) for its
//! whole run; a second apply is refused with the holder's pid, user, host, start time and
//! command. The kernel releases the lock when the holder exits, even when it is killed, so
//! a lock is never left behind. `dr plan` takes no lock: it changes nothing, and during an
//! incident a plan must never wait behind an apply.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another apply holds it.
    #[error(
        "another `dr apply` of these playbooks on this inventory is running ({holder}); lock `{path}`\n  wait for it to finish; the lock is released when that process exits"
    )]
    Held {
        /// The lock file.
        path: String,
        /// Who holds it, as it recorded itself.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot take the apply lock `{path}`: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock for `playbooks` on `inventories`, under `dir` (`.dr/locks`), without
    /// waiting.
    pub fn acquire(
        dir: &Path,
        inventories: &[PathBuf],
        playbooks: &[PathBuf],
    ) -> Result<RunLock, LockError> {
        let path = dir.join(format!("apply-{}.lock", key(inventories, playbooks)));
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    path: path.display().to_string(),
                    holder: if holder.is_empty() {
                        "its holder has not recorded itself yet".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(holder_line(inventories, playbooks).as_bytes())
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(RunLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Explicit for clarity; closing the file would release it too.
        let _ = self.file.unlock();
    }
}

/// The lock's name: the same inventory and playbooks give the same key whatever the
/// working directory or the spelling of the paths.
fn key(inventories: &[PathBuf], playbooks: &[PathBuf]) -> String {
    let canonical = |p: &PathBuf| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string()
    };
    let mut inv: Vec<String> = inventories.iter().map(canonical).collect();
    inv.sort();
    inv.dedup();
    let mut books: Vec<String> = playbooks.iter().map(canonical).collect();
    books.sort();
    books.dedup();
    let mut hash = Sha256::new();
    for part in inv.iter().chain([&String::new()]).chain(&books) {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who holds the lock, in one line: what a refused apply prints.
fn holder_line(inventories: &[PathBuf], playbooks: &[PathBuf]) -> String {
    let user = crate::host_info::os_user();
    let host = crate::host_info::node_name().unwrap_or_else(|| "an unknown host".to_owned());
    let started = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let command: Vec<String> = std::env::args().collect();
    let join = |ps: &[PathBuf]| {
        ps.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "pid {}, user {user}, host {host}, started {started}, command `{}`, inventory {}, playbooks {}\n",
        std::process::id(),
        command.join(" "),
        join(inventories),
        join(playbooks)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_identity_until_it_releases() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let locks = dir.path().join(".dr/locks");
        let inv = vec![PathBuf::from("inventory/staging.yml")];
        let books = vec![PathBuf::from("playbooks/site.yml")];
        let first = RunLock::acquire(&locks, &inv, &books).unwrap_or_else(|e| panic!("{e}"));
        let err = RunLock::acquire(&locks, &inv, &books).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}, user ", std::process::id())),
            "{text}"
        );
        assert!(text.contains("playbooks playbooks/site.yml"), "{text}");
        assert!(text.contains(&first.path().display().to_string()), "{text}");
        // Another playbook set on the same inventory has its own lock.
        let other = RunLock::acquire(&locks, &inv, &[PathBuf::from("playbooks/demo.yml")]);
        assert!(other.is_ok(), "{other:?}");
        drop(first);
        let again = RunLock::acquire(&locks, &inv, &books);
        assert!(again.is_ok(), "{again:?}");
    }

    #[test]
    fn root_is_named_from_the_password_file() {
        assert_eq!(crate::host_info::user_name(0).as_deref(), Some("root"));
    }

    #[test]
    fn the_key_ignores_order_and_duplicates() {
        let a = PathBuf::from("a.yml");
        let b = PathBuf::from("b.yml");
        let (a, b) = (&a, &b);
        let pair = |x: &PathBuf, y: &PathBuf| vec![x.to_path_buf(), y.to_path_buf()];
        assert_eq!(
            key(std::slice::from_ref(a), &pair(a, b)),
            key(&pair(a, a), &pair(b, a))
        );
        assert_ne!(
            key(std::slice::from_ref(a), std::slice::from_ref(b)),
            key(std::slice::from_ref(b), std::slice::from_ref(a))
        );
    }
}
