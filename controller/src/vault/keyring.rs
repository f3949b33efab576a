//! The keys of one run (or one `dr vault` command), found lazily and each at most once: the
//! passphrase (for passphrase vaults, ansible-vault files and the team key file) and the
//! X25519 identities (from `--vault-identity`, else the team key). Each vault file is opened
//! with the kind of key its header asks for, so passphrase vaults and team-key vaults mix in
//! one run.

use std::path::{Path, PathBuf};

use age::x25519;
use zeroize::Zeroizing;

use super::error::VaultError;
use super::header::{Sealed, sealed_to};
use super::key::{KeyOptions, Passphrase, VaultKey, read_identities, resolve_passphrase};

/// Lazily resolved vault keys.
pub struct Keyring {
    options: KeyOptions,
    passphrase: Option<Passphrase>,
    identities: Option<Vec<x25519::Identity>>,
    /// The team key file the identities came from, if they did.
    team: Option<PathBuf>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("options", &self.options)
            .field("team", &self.team)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Keys to be found from `options` when first needed.
    pub fn new(options: KeyOptions) -> Self {
        Keyring {
            options,
            passphrase: None,
            identities: None,
            team: None,
        }
    }

    /// Keys already in hand.
    pub fn with_key(key: VaultKey) -> Self {
        let mut ring = Keyring::new(KeyOptions::default());
        match key {
            VaultKey::Passphrase(p) => ring.passphrase = Some(p),
            VaultKey::Identities(ids) => ring.identities = Some(ids),
        }
        ring
    }

    /// The passphrase (read or asked for once). `for_path` is named when there is none.
    pub fn passphrase(&mut self, for_path: &Path) -> Result<Passphrase, VaultError> {
        if let Some(p) = &self.passphrase {
            return Ok(p.clone());
        }
        match resolve_passphrase(&self.options, false)? {
            Some(p) => {
                self.passphrase = Some(p.clone());
                Ok(p)
            }
            None if !self.options.identity_files.is_empty() => Err(VaultError::WrongKeyKind {
                path: for_path.to_owned(),
                found: "a vault password",
                given: "age identities",
                hint: "`--vault-password-file FILE`",
            }),
            None => Err(VaultError::NoKey {
                what: format!("`{}`", for_path.display()),
            }),
        }
    }

    /// The identities: `--vault-identity` files, else the team key opened with the passphrase
    /// (one scrypt derivation for the whole run).
    pub fn identities(&mut self, for_path: &Path) -> Result<Vec<x25519::Identity>, VaultError> {
        if let Some(ids) = &self.identities {
            return Ok(ids.clone());
        }
        let ids = if !self.options.identity_files.is_empty() {
            let mut all = Vec::new();
            for file in &self.options.identity_files {
                all.extend(read_identities(file)?);
            }
            all
        } else if let Some(key_file) = self.options.key_file.clone() {
            if !key_file.exists() {
                return Err(VaultError::KeyFileMissing {
                    path: for_path.to_owned(),
                    key_file,
                });
            }
            let pass = self.passphrase(&key_file)?;
            tracing::debug!(key_file = %key_file.display(), "opening the team key");
            let id = super::team_key::open(&key_file, &pass, for_path)?;
            self.team = Some(key_file);
            vec![id]
        } else if self.passphrase.is_some() {
            return Err(VaultError::WrongKeyKind {
                path: for_path.to_owned(),
                found: "age identities",
                given: "a vault password",
                hint: "`--vault-identity FILE`",
            });
        } else {
            return Err(VaultError::NoKey {
                what: format!("`{}`", for_path.display()),
            });
        };
        self.identities = Some(ids.clone());
        Ok(ids)
    }

    /// The team key file the identities came from, once they were found that way.
    pub fn team_key_file(&self) -> Option<&Path> {
        self.team.as_deref()
    }

    /// The key that opens the vault `bytes` read from `path`: its header says which kind.
    pub fn key_for(&mut self, path: &Path, bytes: &[u8]) -> Result<VaultKey, VaultError> {
        if super::ansible::is_ansible_vault(bytes) || !super::is_vault(bytes) {
            // ansible-vault files open with the password; a plain file gets the error
            // `decrypt` gives it, whichever key is passed.
            return self.passphrase(path).map(VaultKey::Passphrase);
        }
        match sealed_to(path, bytes)? {
            Sealed::Passphrase { .. } => self.passphrase(path).map(VaultKey::Passphrase),
            Sealed::Recipients { .. } => self.identities(path).map(VaultKey::Identities),
        }
    }

    /// Decrypts the age vault `bytes` read from `path` with the key its header asks for.
    pub fn decrypt(&mut self, path: &Path, bytes: &[u8]) -> Result<Zeroizing<String>, VaultError> {
        let key = self.key_for(path, bytes)?;
        super::decrypt(path, bytes, &key).map_err(|e| self.explain(e))
    }

    /// Says which team key failed when a file is sealed to someone else.
    pub fn explain(&self, e: VaultError) -> VaultError {
        match (e, &self.team, &self.identities) {
            (VaultError::NoMatchingIdentity { path }, Some(key_file), Some(ids)) => {
                VaultError::NotForTeamKey {
                    path,
                    key_file: key_file.clone(),
                    recipient: ids
                        .first()
                        .map(|i| i.to_public().to_string())
                        .unwrap_or_default(),
                }
            }
            (e, _, _) => e,
        }
    }
}
