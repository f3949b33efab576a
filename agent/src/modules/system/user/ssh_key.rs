//! `generate_ssh_key`: a key pair for the user made by `ssh-keygen`, as Ansible's `user`
//! module makes it (`ssh_key_gen`, `ssh_key_fingerprint`, `get_ssh_public_key`): never
//! over an existing private or public key unless `force`, in a `.ssh` directory created
//! 0700 and owned by the user, both files given to the user.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::commands::tool;
use crate::fsutil::{self, Attrs};
use crate::modules::{accounts, hostcmd};

/// What `ssh_key_*` ask for.
#[derive(Debug, Clone)]
pub(super) struct KeySpec {
    pub key_type: String,
    /// `-b`, given when above 0.
    pub bits: i64,
    pub comment: String,
    /// Relative to the home directory unless absolute.
    pub file: String,
    /// Replace an existing key.
    pub force: bool,
    /// `ssh_key_passphrase`: handed to `ssh-keygen` through `SSH_ASKPASS` (a script that
    /// prints it from the environment), never on a command line.
    pub passphrase: Option<String>,
}

/// The default comment: `ansible-generated on HOSTNAME`.
pub(super) fn default_comment() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("ansible-generated on {}", host.trim())
}

impl KeySpec {
    /// The private key's path for `user`.
    pub(super) fn path(&self, user: &accounts::User) -> PathBuf {
        let f = Path::new(&self.file);
        if f.is_absolute() {
            f.to_path_buf()
        } else {
            Path::new(&user.home).join(f)
        }
    }

    /// Whether `ssh-keygen` would run: no key there yet, or `force`.
    pub(super) fn needed(&self, user: &accounts::User) -> bool {
        let key = self.path(user);
        let public = public_path(&key);
        self.force || !(key.exists() || public.exists())
    }

    /// The module's warnings about a key already there (before it generates).
    pub(super) fn warnings(&self, user: &accounts::User) -> Vec<String> {
        let key = self.path(user);
        let public = public_path(&key);
        let mut out = Vec::new();
        for (path, kind) in [(&key, "private"), (&public, "public")] {
            if !path.exists() {
                continue;
            }
            if !self.force {
                out.push(format!(
                    "Found existing ssh key {kind} file \"{}\", no force, so skipping ssh-keygen generation",
                    path.display()
                ));
                break;
            }
            out.push(format!(
                "Overwriting existing ssh key {kind} file \"{}\"",
                path.display()
            ));
        }
        out
    }

    /// Makes the key pair (the user exists). A relative key file needs the home directory.
    pub(super) fn generate(&self, user: &accounts::User) -> Result<(), String> {
        if !Path::new(&self.file).is_absolute() && !Path::new(&user.home).exists() {
            return Err(format!("User {} home directory does not exist", user.name));
        }
        let key = self.path(user);
        let public = public_path(&key);
        let owner = Attrs {
            mode: None,
            uid: Some(user.uid),
            gid: Some(user.gid),
        };
        let dir = fsutil::parent(&key);
        if !dir.exists() {
            std::fs::create_dir(dir)
                .and_then(|()| {
                    fsutil::set_attrs(
                        dir,
                        Attrs {
                            mode: Some(0o700),
                            ..owner
                        },
                    )
                })
                .map_err(|e| format!("Failed to create {}: {e}", dir.display()))?;
        }
        if self.force {
            // ssh-keygen asks before overwriting; Ansible answers `y`, dr removes first.
            for p in [&key, &public] {
                if p.exists() {
                    std::fs::remove_file(p).map_err(|e| format!("{}: {e}", p.display()))?;
                }
            }
        }
        let mut cmd = tool("ssh-keygen").map_err(|e| e.to_string())?;
        cmd.arg("-t").arg(&self.key_type);
        if self.bits > 0 {
            cmd.arg("-b").arg(self.bits.to_string());
        }
        cmd.arg("-C").arg(&self.comment).arg("-f").arg(&key);
        // Kept until ssh-keygen is done: the askpass script lives in it.
        let _askpass = match &self.passphrase {
            Some(passphrase) => Some(askpass(&mut cmd, passphrase)?),
            None => {
                cmd.arg("-N").arg("");
                None
            }
        };
        let ran = hostcmd::run(&mut cmd, "`ssh-keygen`").map_err(|e| e.to_string())?;
        if !ran.ok() {
            return Err(ran.stderr);
        }
        for p in [&key, &public] {
            fsutil::set_attrs(p, owner).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    }

    /// `ssh_fingerprint`, `ssh_key_file` and `ssh_public_key`, as the module reports them.
    pub(super) fn result_keys(&self, user: &accounts::User, data: &mut Map<String, Json>) {
        let key = self.path(user);
        let fingerprint = if key.exists() {
            match tool("ssh-keygen").and_then(|mut c| {
                c.arg("-l").arg("-f").arg(&key);
                hostcmd::run(&mut c, "`ssh-keygen -l`")
            }) {
                Ok(ran) if ran.ok() => ran.stdout.trim().to_owned(),
                Ok(ran) => ran.stderr.trim().to_owned(),
                Err(e) => e.to_string(),
            }
        } else {
            // The module reports the missing file's message on stdout: the key is empty.
            String::new()
        };
        let public = std::fs::read_to_string(public_path(&key))
            .map(|s| Json::from(s.trim()))
            .unwrap_or(Json::Null);
        data.insert("ssh_fingerprint".into(), Json::from(fingerprint));
        data.insert("ssh_key_file".into(), Json::from(key.display().to_string()));
        data.insert("ssh_public_key".into(), public);
    }
}

/// Makes `cmd` (ssh-keygen without `-N`) read its new passphrase from an askpass script
/// that prints it from the environment: ssh-keygen asks the `SSH_ASKPASS` program when its
/// stdin is not a terminal (`SSH_ASKPASS_REQUIRE=force`; `DISPLAY` for OpenSSH before 8.4),
/// so the passphrase is on no command line and in no file. Returns the script's directory.
fn askpass(cmd: &mut std::process::Command, passphrase: &str) -> Result<tempfile::TempDir, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("dr-askpass")
        .tempdir()
        .map_err(|e| format!("cannot make a directory for ssh-keygen's askpass: {e}"))?;
    let script = dir.path().join("askpass");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s\\n' \"$DR_SSH_KEY_PASSPHRASE\"\n",
    )
    .and_then(|()| std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)))
    .map_err(|e| format!("cannot write ssh-keygen's askpass: {e}"))?;
    cmd.env("DR_SSH_KEY_PASSPHRASE", passphrase)
        .env("SSH_ASKPASS", &script)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .stdin(std::process::Stdio::null());
    if std::env::var_os("DISPLAY").is_none() {
        cmd.env("DISPLAY", ":0");
    }
    Ok(dir)
}

fn public_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}
