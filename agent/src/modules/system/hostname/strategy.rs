//! How the hostname is read and set: the strategies of Ansible's `hostname` module that
//! dr runs (`SystemdStrategy`, `FileStrategy` in `ansible/modules/hostname.py`).

use std::path::PathBuf;
use std::process::Command;

use crate::fsutil::{self, Attrs};
use crate::modules::{ModuleError, hostcmd};

/// Where the name lives and how it is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Strategy {
    /// `hostnamectl`: the transient name is the current one, the static name the permanent
    /// one; the permanent name is set first (NetworkManager complains otherwise).
    Systemd(PathBuf),
    /// A file holding the name (`/etc/hostname`): both current and permanent, as Ansible's
    /// `FileStrategy` inherits `get_current_hostname` from the permanent one; setting the
    /// current name does nothing.
    File(PathBuf),
}

/// `Command failed rc=..., out=..., err=...`, the module's words.
fn run(cmd: &mut Command) -> Result<String, ModuleError> {
    let ran = hostcmd::run(cmd, "`hostnamectl`")?;
    if !ran.ok() {
        return Err(ModuleError::Failed(format!(
            "Command failed rc={}, out={}, err={}",
            ran.rc, ran.stdout, ran.stderr
        )));
    }
    Ok(ran.stdout.trim().to_owned())
}

/// systemd's limit, checked before setting as the module does.
fn systemd_length(name: &str) -> Result<(), ModuleError> {
    if name.chars().count() > 64 {
        return Err(ModuleError::Failed(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name"
                .into(),
        ));
    }
    Ok(())
}

impl Strategy {
    /// The name the host has now.
    pub(super) fn current(&self) -> Result<String, ModuleError> {
        match self {
            Strategy::Systemd(ctl) => run(Command::new(ctl).args(["--transient", "status"])),
            Strategy::File(_) => self.permanent(),
        }
    }

    /// The name the host boots with.
    pub(super) fn permanent(&self) -> Result<String, ModuleError> {
        match self {
            Strategy::Systemd(ctl) => run(Command::new(ctl).args(["--static", "status"])),
            Strategy::File(path) if !path.is_file() => Ok(String::new()),
            Strategy::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| ModuleError::Failed(format!("failed to read hostname: {e}"))),
        }
    }

    /// Sets the current name.
    pub(super) fn set_current(&self, name: &str) -> Result<(), ModuleError> {
        match self {
            Strategy::Systemd(ctl) => {
                systemd_length(name)?;
                run(Command::new(ctl).args(["--transient", "set-hostname", name])).map(drop)
            }
            Strategy::File(_) => Ok(()),
        }
    }

    /// Sets the permanent name (the file is written atomically, keeping its mode).
    pub(super) fn set_permanent(&self, name: &str) -> Result<(), ModuleError> {
        match self {
            Strategy::Systemd(ctl) => {
                systemd_length(name)?;
                run(Command::new(ctl).args(["--pretty", "--static", "set-hostname", name]))
                    .map(drop)
            }
            Strategy::File(path) => fsutil::write_atomic(
                path,
                format!("{name}\n").as_bytes(),
                Attrs::default(),
                0o644,
            )
            .map_err(|e| ModuleError::Failed(format!("failed to update hostname: {e}"))),
        }
    }

    /// Whether the permanent name is set before the current one.
    pub(super) fn permanent_first(&self) -> bool {
        matches!(self, Strategy::Systemd(_))
    }
}
