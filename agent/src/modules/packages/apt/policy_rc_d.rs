//! `policy_rc_d`: while apt runs, `/usr/sbin/policy-rc.d` answers every service start
//! with the given exit code (101: "don't"); the previous file, if any, comes back after.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::super::ModuleError;

const PATH: &str = "/usr/sbin/policy-rc.d";

/// Restores the previous `policy-rc.d` (or removes dr's) when dropped.
pub struct Guard {
    backup: Option<PathBuf>,
}

impl Guard {
    /// Installs the script when `code` is given and apt really runs.
    pub fn install(code: Option<u64>, simulate: bool) -> Result<Option<Guard>, ModuleError> {
        let Some(code) = code.filter(|_| !simulate) else {
            return Ok(None);
        };
        let path = Path::new(PATH);
        let backup = if path.exists() {
            let b = PathBuf::from(format!("{PATH}.dr-backup"));
            std::fs::rename(path, &b).map_err(|e| {
                ModuleError::Failed(format!("Fail to move {PATH} to {}: {e}", b.display()))
            })?;
            Some(b)
        } else {
            None
        };
        let guard = Guard { backup };
        std::fs::write(path, format!("#!/bin/sh\nexit {code}\n"))
            .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| ModuleError::Failed(format!("Failed to create or chmod {PATH}: {e}")))?;
        Ok(Some(guard))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Failing here would leave services unstartable; the error cannot be returned
        // from a drop, so both paths are best effort and the next run repeats them.
        match &self.backup {
            Some(b) => {
                let _ = std::fs::rename(b, PATH);
            }
            None => {
                let _ = std::fs::remove_file(PATH);
            }
        }
    }
}
