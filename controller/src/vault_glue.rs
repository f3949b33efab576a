//! Connects the vault to the run: which keys to use, and the reader that decrypts vault
//! files met while loading vars (each file once per run).

use std::path::Path;
use std::sync::Arc;

use crate::Error;
use crate::cli::VaultArgs;
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Loc};
use crate::secrets::{Secrets, VaultReader};
use crate::vault::{self, KeyOptions, VaultCache};

struct CacheReader(VaultCache);

impl VaultReader for CacheReader {
    fn decrypt_if_vault(&self, path: &Path, bytes: &[u8]) -> Result<Option<String>, Diagnostic> {
        let looks_ansible = bytes.starts_with(b"$ANSIBLE_VAULT;");
        if !vault::is_vault(bytes) && !looks_ansible {
            return Ok(None);
        }
        self.0
            .read(path)
            .map(|text| Some(text.to_string()))
            .map_err(|e| Diagnostic::new(Loc::file_start(path), e.to_string()))
    }

    fn decrypt_inline(&self, envelope: &str) -> Result<String, String> {
        self.0
            .decrypt_inline(envelope)
            .map(|text| text.to_string())
            .map_err(|e| e.to_string())
    }
}

/// The secret set for a run, able to decrypt vault files with the keys from `args` (then
/// `DR_VAULT_PASSWORD_FILE`, then dr.toml, then a prompt on a terminal). The key is only
/// looked for when the first vault file is met.
pub fn secrets_for(args: &VaultArgs) -> Result<Secrets, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
    let config = Config::discover(&cwd)?;
    let identity_files = if args.vault_identity.is_empty() {
        config.vault_identity.clone()
    } else {
        args.vault_identity.clone()
    };
    let options = KeyOptions {
        password_file: args.vault_password_file.clone(),
        identity_files,
        allow_prompt: true,
        config_password_file: config.vault_password_file.clone(),
        key_file: Some(config.vault_key_file()),
    };
    Ok(Secrets::with_vault(Arc::new(CacheReader(VaultCache::new(
        options,
    )))))
}

struct SkipVaults;

impl VaultReader for SkipVaults {
    fn decrypt_if_vault(&self, _path: &Path, bytes: &[u8]) -> Result<Option<String>, Diagnostic> {
        let is_vault = vault::is_vault(bytes) || bytes.starts_with(b"$ANSIBLE_VAULT;");
        Ok(is_vault.then(String::new))
    }

    fn decrypt_inline(&self, _envelope: &str) -> Result<String, String> {
        Ok(String::new())
    }
}

/// For commands that need hosts and groups but no values (`dr graph`): vault files are
/// read as empty, so no key is asked for.
pub fn secrets_without_vault() -> Secrets {
    Secrets::with_vault(Arc::new(SkipVaults))
}
