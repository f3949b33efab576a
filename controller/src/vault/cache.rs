//! One run's view of the vault: every vault file is decrypted at most once, whatever the
//! number of hosts and tasks that read it, and the key is looked up only when the first vault
//! file is met (a run without vault files never asks for a password).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::error::VaultError;
use super::key::{KeyOptions, VaultKey};
use super::keyring::Keyring;

/// A file read through the cache.
#[derive(Clone)]
pub struct Loaded {
    /// The file's text (plaintext when it was a vault).
    pub text: Arc<str>,
    /// True when the text came out of a vault: every value in it is secret and must be masked.
    pub secret: bool,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("Loaded { secret: true, text: *** }")
        } else {
            f.debug_struct("Loaded")
                .field("secret", &false)
                .field("text", &self.text)
                .finish()
        }
    }
}

struct State {
    keys: Keyring,
    files: HashMap<PathBuf, Arc<str>>,
}

/// Thread-safe cache of decrypted vault files for one run.
pub struct VaultCache {
    options: KeyOptions,
    state: Mutex<State>,
    decryptions: AtomicUsize,
}

impl std::fmt::Debug for VaultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultCache")
            .field("options", &self.options)
            .field("decryptions", &self.decryptions())
            .finish_non_exhaustive()
    }
}

impl VaultCache {
    /// A cache that will resolve its key from `options` when first needed.
    pub fn new(options: KeyOptions) -> Self {
        let keys = Keyring::new(options.clone());
        VaultCache {
            options,
            state: Mutex::new(State {
                keys,
                files: HashMap::new(),
            }),
            decryptions: AtomicUsize::new(0),
        }
    }

    /// A cache with a key already in hand (tests, or a key resolved by the caller).
    pub fn with_key(key: VaultKey) -> Self {
        let cache = VaultCache::new(KeyOptions::default());
        cache.lock().keys = Keyring::with_key(key);
        cache
    }

    /// Decrypts the vault file at `path` (once per run) and returns its plaintext. Fails with
    /// [`VaultError::NotAVault`] for a plain file; use [`VaultCache::load`] for files that may
    /// or may not be vaults.
    pub fn read(&self, path: &Path) -> Result<Arc<str>, VaultError> {
        let loaded = self.load(path)?;
        if loaded.secret {
            Ok(loaded.text)
        } else {
            Err(VaultError::NotAVault {
                path: path.to_owned(),
            })
        }
    }

    /// Reads `path`, decrypting it (once per run) if it is a vault. `vars_files`, `-e @file`,
    /// group_vars and host_vars go through here so vault files are read transparently.
    /// ansible-vault files are refused with the `dr vault import-ansible` command to run.
    pub fn load(&self, path: &Path) -> Result<Loaded, VaultError> {
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut state = self.lock();
        if let Some(text) = state.files.get(&id) {
            return Ok(Loaded {
                text: Arc::clone(text),
                secret: true,
            });
        }
        let bytes = std::fs::read(path).map_err(|e| VaultError::io("read", path, e))?;
        let ansible = super::ansible::is_ansible_vault(&bytes);
        if !super::is_vault(&bytes) && !ansible {
            let text = String::from_utf8(bytes).map_err(|_| VaultError::NotUtf8 {
                path: path.to_owned(),
            })?;
            return Ok(Loaded {
                text: Arc::from(text),
                secret: false,
            });
        }
        // Decrypting under the lock is deliberate: two hosts asking for the same file at once
        // must not both pay for scrypt, nor both open the team key.
        tracing::debug!(file = %path.display(), "decrypting vault file");
        let plain = if ansible {
            // ansible-vault files open with the same password, as ansible-playbook's
            // `--vault-password-file` opens them.
            let password = match state.keys.passphrase(path) {
                Ok(p) => p,
                Err(VaultError::WrongKeyKind { .. }) => {
                    return Err(VaultError::AnsibleVault {
                        path: path.to_owned(),
                    });
                }
                Err(e) => return Err(e),
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::NotUtf8 {
                path: path.to_owned(),
            })?;
            zeroize::Zeroizing::new(super::ansible::decrypt(path, text, password.expose())?)
        } else {
            state.keys.decrypt(path, &bytes)?
        };
        self.decryptions.fetch_add(1, Ordering::Relaxed);
        let text: Arc<str> = Arc::from(plain.as_str());
        state.files.insert(id, Arc::clone(&text));
        Ok(Loaded { text, secret: true })
    }

    /// The plaintext of an inline ansible-vault value (once per run per value), opened
    /// with the run's vault password.
    pub fn decrypt_inline(&self, envelope: &str) -> Result<Arc<str>, VaultError> {
        let id = PathBuf::from(format!("<inline>{envelope}"));
        let inline = Path::new("<inline vault value>");
        let mut state = self.lock();
        if let Some(text) = state.files.get(&id) {
            return Ok(Arc::clone(text));
        }
        let password = match state.keys.passphrase(inline) {
            Ok(p) => p,
            Err(VaultError::WrongKeyKind { .. }) => {
                return Err(VaultError::AnsibleVault {
                    path: inline.to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        let plain = super::ansible::decrypt(inline, envelope.trim(), password.expose())?;
        self.decryptions.fetch_add(1, Ordering::Relaxed);
        let text: Arc<str> = Arc::from(plain.as_str());
        state.files.insert(id, Arc::clone(&text));
        Ok(text)
    }

    /// How many files were actually decrypted so far (each at most once).
    pub fn decryptions(&self) -> usize {
        self.decryptions.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated (one insert), so a
        // poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
