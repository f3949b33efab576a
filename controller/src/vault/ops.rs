//! The file operations behind `dr vault ...`, one function each, usable without the CLI.

use std::path::Path;

use age::x25519;
use zeroize::Zeroizing;

use super::atomic::{self, PRIVATE_MODE};
use super::error::VaultError;
use super::key::{Passphrase, VaultKey};

/// Mode of a new vault file: ciphertext, readable like any other file in the repository.
pub(crate) const VAULT_MODE: u32 = 0o644;

/// What a vault file is sealed to when it is written.
#[derive(Clone, Debug)]
pub enum Seal {
    /// A passphrase.
    Passphrase(Passphrase),
    /// age public keys: everyone on the team who may open the file.
    Recipients(Vec<x25519::Recipient>),
}

impl Seal {
    /// Seals to what a key opens: the passphrase, or the identities' public keys.
    pub fn from_key(key: &VaultKey) -> Seal {
        match key {
            VaultKey::Passphrase(p) => Seal::Passphrase(p.clone()),
            VaultKey::Identities(_) => Seal::Recipients(key.recipients()),
        }
    }

    /// Encrypts `plaintext` to this seal, armored.
    pub fn seal(&self, path: &Path, plaintext: &[u8]) -> Result<String, VaultError> {
        let result = match self {
            Seal::Passphrase(p) => super::encrypt(plaintext, &VaultKey::Passphrase(p.clone())),
            Seal::Recipients(r) => super::encrypt_to(plaintext, r),
        };
        result.map_err(|e| match e {
            VaultError::Encrypt { reason, .. } => VaultError::Encrypt {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })
    }
}

/// Reads and decrypts the vault at `path`.
pub fn open(path: &Path, key: &VaultKey) -> Result<Zeroizing<String>, VaultError> {
    let bytes = std::fs::read(path).map_err(|e| VaultError::io("read", path, e))?;
    super::decrypt(path, &bytes, key)
}

/// Encrypts the plain file at `path` in place.
pub fn encrypt_file(path: &Path, seal: &Seal) -> Result<(), VaultError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| VaultError::io("read", path, e))?);
    if super::is_vault(&bytes) {
        return Err(VaultError::AlreadyEncrypted {
            path: path.to_owned(),
        });
    }
    if super::ansible::is_ansible_vault(&bytes) {
        return Err(VaultError::AnsibleVault {
            path: path.to_owned(),
        });
    }
    let armored = seal.seal(path, &bytes)?;
    atomic::write(path, armored.as_bytes(), VAULT_MODE, false)
}

/// Decrypts the vault at `path` into `output` (which may be `path` itself), mode 0600.
pub fn decrypt_file(path: &Path, key: &VaultKey, output: &Path) -> Result<(), VaultError> {
    let plain = open(path, key)?;
    atomic::write(output, plain.as_bytes(), PRIVATE_MODE, true)
}

/// Re-encrypts the vault at `path` from `key` to `new`.
pub fn rekey_file(path: &Path, key: &VaultKey, new: &Seal) -> Result<(), VaultError> {
    let plain = open(path, key)?;
    let armored = new.seal(path, plain.as_bytes())?;
    atomic::write(path, armored.as_bytes(), VAULT_MODE, false)
}

/// Writes a new vault at `path` holding `plaintext`; refuses to overwrite.
pub fn create_file(path: &Path, plaintext: &str, seal: &Seal) -> Result<(), VaultError> {
    if path.exists() {
        return Err(VaultError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    let armored = seal.seal(path, plaintext.as_bytes())?;
    atomic::write(path, armored.as_bytes(), VAULT_MODE, false)
}

/// What `edit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOutcome {
    /// The content changed and the vault was re-encrypted.
    Saved,
    /// The content is the same; the vault file was not touched.
    Unchanged,
}

/// Decrypts `path`, opens `editor` on a private copy, and re-encrypts to `seal` if the
/// content changed. The plaintext copy is removed in every case.
pub fn edit_file(
    path: &Path,
    key: &VaultKey,
    seal: &Seal,
    editor: &str,
) -> Result<EditOutcome, VaultError> {
    let before = open(path, key)?;
    let after = super::editor::edit_text(editor, path, &before)?;
    if *after == *before {
        return Ok(EditOutcome::Unchanged);
    }
    let armored = seal.seal(path, after.as_bytes())?;
    atomic::write(path, armored.as_bytes(), VAULT_MODE, false)?;
    Ok(EditOutcome::Saved)
}

/// Converts the ansible-vault file at `path` (opened with `ansible_password`) into an age
/// vault sealed to `seal`, written to `output` (may be `path`: replaced atomically).
pub fn import_ansible_file(
    path: &Path,
    ansible_password: &Passphrase,
    seal: &Seal,
    output: &Path,
) -> Result<(), VaultError> {
    let bytes = std::fs::read(path).map_err(|e| VaultError::io("read", path, e))?;
    if super::is_vault(&bytes) {
        return Err(VaultError::AlreadyEncrypted {
            path: path.to_owned(),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::AnsibleFormat {
        path: path.to_owned(),
        reason: "it is not text".into(),
    })?;
    let plain = Zeroizing::new(super::ansible::decrypt(
        path,
        text,
        ansible_password.expose(),
    )?);
    let armored = seal.seal(output, plain.as_bytes())?;
    atomic::write(output, armored.as_bytes(), VAULT_MODE, false)
}
