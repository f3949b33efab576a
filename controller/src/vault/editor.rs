//! Editing plaintext safely: a private (0700) directory, preferably on tmpfs, holding one 0600
//! file that is removed when the session ends, whether the edit succeeded, failed or the
//! editor crashed.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use zeroize::Zeroizing;

use super::error::VaultError;

/// The editor to run: `$VISUAL`, then `$EDITOR`, then `vi`, as git and ansible-vault do.
pub fn default_editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Opens `editor` on `initial` (a file named like `vault_path` so the editor picks the right
/// syntax) and returns what the user saved. The plaintext file never outlives this call.
pub fn edit_text(
    editor: &str,
    vault_path: &Path,
    initial: &str,
) -> Result<Zeroizing<String>, VaultError> {
    let base = private_base();
    let dir = tempfile::Builder::new()
        .prefix("dr-vault-edit-")
        .tempdir_in(&base)
        .map_err(|e| VaultError::io("create a private directory in", &base, e))?;
    let _ = fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700));
    let name = vault_path
        .file_name()
        .map_or_else(|| "vault.yml".into(), |n| n.to_owned());
    let file = dir.path().join(name);
    write_private(&file, initial.as_bytes())?;

    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg("sh")
        .arg(&file);
    // SAFETY: between fork and exec the child only calls signal(2), which is
    // async-signal-safe, to undo the SIG_IGN it would otherwise inherit from us.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    let status = {
        // Ctrl-C in the editor reaches dr too; like git, ignore it meanwhile so the
        // plaintext copy is still removed when the editor exits.
        let _guard = IgnoreInterrupts::new();
        command.status()
    };
    let failed = |reason: String| VaultError::Editor {
        editor: editor.to_owned(),
        path: vault_path.to_owned(),
        reason,
    };
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(failed(format!("it exited with {s}"))),
        Err(e) => return Err(failed(format!("it could not be started: {e}"))),
    }
    let text = fs::read(&file)
        .map_err(|e| VaultError::io("read back the edited copy of", vault_path, e))?;
    let text = Zeroizing::new(text);
    let text = std::str::from_utf8(&text).map_err(|_| VaultError::NotUtf8 {
        path: vault_path.to_owned(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
    // `dir` drops here (and on every early return above): the plaintext is removed.
}

/// Ignores SIGINT and SIGQUIT while alive; restores the previous dispositions on drop.
struct IgnoreInterrupts {
    int: libc::sighandler_t,
    quit: libc::sighandler_t,
}

impl IgnoreInterrupts {
    fn new() -> Self {
        // SAFETY: signal(2) with SIG_IGN installs no handler code; the previous dispositions
        // are restored in Drop.
        unsafe {
            IgnoreInterrupts {
                int: libc::signal(libc::SIGINT, libc::SIG_IGN),
                quit: libc::signal(libc::SIGQUIT, libc::SIG_IGN),
            }
        }
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        // SAFETY: restores the dispositions that signal(2) returned in `new`.
        unsafe {
            if self.int != libc::SIG_ERR {
                libc::signal(libc::SIGINT, self.int);
            }
            if self.quit != libc::SIG_ERR {
                libc::signal(libc::SIGQUIT, self.quit);
            }
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| VaultError::io("create", path, e))?;
    f.write_all(bytes)
        .map_err(|e| VaultError::io("write", path, e))
}

/// Memory-backed directories first, so plaintext does not reach a disk at all.
fn private_base() -> PathBuf {
    let candidates = [
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        Some(PathBuf::from("/dev/shm")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| is_writable_dir(p))
        .unwrap_or_else(std::env::temp_dir)
}

fn is_writable_dir(p: &Path) -> bool {
    p.is_dir() && rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok()
}
