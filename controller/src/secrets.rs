//! The set of secret values seen in this run. Everything printed, diffed or journaled is
//! masked against it. It grows during the run: agents report the text they derived from
//! secrets (`upper`, `b64encode`, a line of a rendered file...), which is masked from then
//! on and sent as a secret to the host's later plays.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dr_agent::mask::Masker;
use serde_json::Value;

use crate::diagnostic::Diagnostic;

/// Reads vault files for the run; implemented by the vault module.
pub trait VaultReader: Send + Sync {
    /// Returns the plaintext of `path` when `bytes` is a vault file, `None` when it is not.
    fn decrypt_if_vault(&self, path: &Path, bytes: &[u8]) -> Result<Option<String>, Diagnostic>;

    /// The plaintext of an inline ansible-vault value (`!vault |` in a YAML file).
    fn decrypt_inline(&self, envelope: &str) -> Result<String, String>;
}

/// Secret values collected during a run, shared by every part that prints.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Arc<Mutex<BTreeSet<String>>>,
    /// The plaintexts of inline `!vault` values opened (Ansible's `VaultedValue`s): data,
    /// never templates.
    vaulted: Arc<Mutex<BTreeSet<String>>>,
    /// Masks every value in `values` (and their lines); shared by every printer.
    masker: Masker,
    vault: Option<Arc<dyn VaultReader>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// A set that can also decrypt vault files.
    pub fn with_vault(vault: Arc<dyn VaultReader>) -> Self {
        Secrets {
            values: Arc::default(),
            vaulted: Arc::default(),
            masker: Masker::default(),
            vault: Some(vault),
        }
    }

    /// Records one secret value.
    pub fn add(&self, value: &str) {
        if !value.is_empty() && self.lock().insert(value.to_owned()) {
            self.masker.add(value);
        }
    }

    /// Records every scalar inside `value` as a secret.
    pub fn add_leaves(&self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Number(n) => self.add(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.add_leaves(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_leaves(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// A masker over this set: it masks what is added later too.
    pub fn masker(&self) -> Masker {
        self.masker.clone()
    }

    /// All secrets, for the agent request.
    pub fn to_vec(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    /// The plaintexts of the inline `!vault` values opened so far.
    pub fn vaulted(&self) -> Vec<String> {
        self.vaulted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Decrypts `bytes` when they are a vault file.
    pub fn decrypt_if_vault(
        &self,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Option<String>, Diagnostic> {
        match &self.vault {
            Some(vault) => vault.decrypt_if_vault(path, bytes),
            None => Ok(None),
        }
    }

    /// Decrypts every inline `!vault` value inside `value` in place (its plaintext becomes
    /// a secret); `what` names the variable. A value that cannot be opened (no vault key,
    /// another password) fails only where it is used, as in Ansible: it is replaced by a
    /// template that fails when rendered, naming the variable and why.
    pub fn decrypt_inline(&self, what: &str, value: &mut Value) {
        self.open_inline(&|| what.to_owned(), value);
    }

    /// [`Secrets::decrypt_inline`], the variable's name built only for a value that cannot
    /// be opened (it is walked for every variable of every host).
    pub fn open_inline(&self, what: &dyn Fn() -> String, value: &mut Value) {
        match value {
            // A plain string holding vault text is a string, as in Ansible (only `!vault`
            // values are opened).
            Value::String(s)
                if s.trim_start().starts_with("$ANSIBLE_VAULT;")
                    && !crate::yaml::vault_tag::is_plain(s) =>
            {
                let opened = match &self.vault {
                    Some(vault) => vault.decrypt_inline(s),
                    None => Err("no vault key was given".to_owned()),
                };
                *s = match opened {
                    Ok(plain) => {
                        self.add(&plain);
                        self.vaulted
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(plain.clone());
                        plain
                    }
                    Err(e) => dr_agent::template::undecryptable::marker(&what(), &e, s),
                };
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.open_inline(what, v)),
            Value::Object(map) => map.iter_mut().for_each(|(k, v)| {
                self.open_inline(&|| format!("{}.{k}", what()), v);
            }),
            _ => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A poisoned set still holds every secret recorded so far; masking must go on.
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
}
