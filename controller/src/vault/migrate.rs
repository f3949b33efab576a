//! `dr vault migrate`: passphrase vaults (and ansible-vault files) re-sealed to the team key.
//! All files are decrypted before any is written, so a wrong password or a damaged file
//! leaves every original as it was; each write is atomic.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::atomic;
use super::error::VaultError;
use super::header::{Sealed, sealed_to};
use super::key::VaultKey;
use super::keyring::Keyring;
use super::ops::VAULT_MODE;

/// What `migrate` did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Files re-sealed to the team key.
    pub moved: Vec<PathBuf>,
    /// Files that were sealed to the team key already (not rewritten).
    pub already: Vec<PathBuf>,
}

/// Re-seals `files` to the team key in `key_file`, opening them (and the key) with `keys`.
pub fn migrate(
    files: &[PathBuf],
    key_file: &Path,
    mut keys: Keyring,
) -> Result<Migrated, VaultError> {
    if !key_file.exists() {
        return Err(VaultError::NoTeamKey {
            key_file: key_file.to_owned(),
        });
    }
    let Some(first) = files.first() else {
        return Ok(Migrated::default());
    };
    let team = keys.identities(first)?;
    if keys.team_key_file().is_none() {
        return Err(VaultError::Bug(
            "the team key was not read from its file".into(),
        ));
    }
    let team_key = VaultKey::Identities(team.clone());
    let mut done = Migrated::default();
    let mut plaintexts: Vec<(&Path, Zeroizing<String>)> = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| VaultError::io("read", file, e))?;
        let plain = if super::ansible::is_ansible_vault(&bytes) {
            let pass = keys.passphrase(file)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| VaultError::NotUtf8 { path: file.clone() })?;
            Zeroizing::new(super::ansible::decrypt(file, text, pass.expose())?)
        } else if !super::is_vault(&bytes) {
            return Err(VaultError::NotAVault { path: file.clone() });
        } else {
            match sealed_to(file, &bytes)? {
                Sealed::Passphrase { .. } => keys.decrypt(file, &bytes)?,
                Sealed::Recipients { .. } => {
                    super::decrypt(file, &bytes, &team_key).map_err(|e| keys.explain(e))?;
                    done.already.push(file.clone());
                    continue;
                }
            }
        };
        plaintexts.push((file, plain));
    }
    let recipients: Vec<_> = team.iter().map(age::x25519::Identity::to_public).collect();
    for (file, plain) in &plaintexts {
        let armored = super::encrypt_to(plain.as_bytes(), &recipients).map_err(|e| match e {
            VaultError::Encrypt { reason, .. } => VaultError::Encrypt {
                path: file.to_path_buf(),
                reason,
            },
            other => other,
        })?;
        atomic::write(file, armored.as_bytes(), VAULT_MODE, false)?;
        done.moved.push(file.to_path_buf());
    }
    Ok(done)
}
