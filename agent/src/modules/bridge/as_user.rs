//! A bridged module run as another user (`become_user`): its Python process is started as
//! that user (`runuser`, as `command` is), so the kernel checks that user's permissions and
//! what the module creates belongs to it, as under Ansible's `become`. The payload cache
//! is the agent's user's alone, so the module's payload is copied into its temporary
//! directory, and both are given to the user.

use std::path::{Path, PathBuf};

use crate::modules::ModuleError;
use crate::modules::accounts;

/// Copies the payload `cached` into `tmp` and gives both to `user`; the copy's path.
pub(super) fn hand_over(user: &str, cached: &Path, tmp: &Path) -> Result<PathBuf, ModuleError> {
    let account = accounts::user_named(user).ok_or_else(|| {
        ModuleError::Failed(format!("become_user `{user}`: no such user on this host"))
    })?;
    let zip = tmp.join("payload.zip");
    std::fs::copy(cached, &zip).map_err(|e| ModuleError::io("cannot copy", cached.display(), e))?;
    for path in [tmp, zip.as_path()] {
        std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid)).map_err(|e| {
            ModuleError::Failed(format!("cannot give `{}` to `{user}`: {e}", path.display()))
        })?;
    }
    Ok(zip)
}
