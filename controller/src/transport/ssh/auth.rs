//! Public-key authentication: the key named in inventory or `--private-key`, then the
//! keys in ssh-agent, then the SSH config's identity files. Encrypted keys ask for their
//! passphrase on the terminal (once per file per run); without a terminal they fail with a
//! clear message instead of hanging. RSA keys sign with SHA-2.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::Handle;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::{HashAlg, PrivateKey, PublicKey};
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use zeroize::Zeroizing;

use super::host_key::Handler;
use super::target::Target;

/// Passphrases typed during this run, by key file, so one prompt serves every host.
static PASSPHRASES: Mutex<Option<HashMap<PathBuf, Zeroizing<String>>>> = Mutex::new(None);

/// Authenticates `handle` as `target.user`; on failure says what was tried.
pub async fn authenticate(
    handle: &mut Handle<Handler>,
    target: &Target,
) -> Result<&'static str, String> {
    let mut tried = Vec::new();
    if let Some(path) = &target.explicit_key {
        let key = load_key(path).await?;
        if try_key(handle, target, key).await? {
            return Ok("key file");
        }
        tried.push(format!("key `{}`", path.display()));
    }
    match try_agent(handle, target).await {
        Ok(true) => return Ok("ssh-agent"),
        Ok(false) => tried.push("ssh-agent".into()),
        Err(why) => tracing::debug!(host = %target.host, "ssh-agent not used: {why}"),
    }
    if target.explicit_key.is_none() {
        for path in &target.identity_files {
            let key = match load_key(path).await {
                Ok(k) => k,
                Err(why) => {
                    tracing::debug!(host = %target.host, "skipping identity: {why}");
                    continue;
                }
            };
            if try_key(handle, target, key).await? {
                return Ok("identity file");
            }
            tried.push(format!("key `{}`", path.display()));
        }
    }
    let tried = if tried.is_empty() {
        "no key was available (no --private-key, `ansible_ssh_private_key_file`, ssh-agent or ~/.ssh/id_*)".to_owned()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(format!(
        "authentication as `{}` failed: {tried}",
        target.user
    ))
}

async fn rsa_hash(handle: &Handle<Handler>, key: &PublicKey) -> Result<Option<HashAlg>, String> {
    if !key.algorithm().is_rsa() {
        return Ok(None);
    }
    // `None` would sign SHA-1 `ssh-rsa`, which OpenSSH >= 8.8 refuses.
    Ok(handle
        .best_supported_rsa_hash()
        .await
        .map_err(|e| format!("cannot negotiate the RSA signature hash: {e}"))?
        .flatten()
        .or(Some(HashAlg::Sha512)))
}

async fn try_key(
    handle: &mut Handle<Handler>,
    target: &Target,
    key: PrivateKey,
) -> Result<bool, String> {
    let hash = rsa_hash(handle, key.public_key()).await?;
    let result = handle
        .authenticate_publickey(
            target.user.clone(),
            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
        )
        .await
        .map_err(|e| format!("authentication as `{}` failed: {e}", target.user))?;
    Ok(result.success())
}

async fn try_agent(handle: &mut Handle<Handler>, target: &Target) -> Result<bool, String> {
    if std::env::var_os("SSH_AUTH_SOCK").is_none() {
        return Err("SSH_AUTH_SOCK is not set".into());
    }
    let mut agent = AgentClient::connect_env()
        .await
        .map_err(|e| e.to_string())?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| e.to_string())?;
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let hash = rsa_hash(handle, &key).await?;
        match handle
            .authenticate_publickey_with(target.user.clone(), key, hash, &mut agent)
            .await
        {
            Ok(r) if r.success() => return Ok(true),
            Ok(_) => {}
            Err(e) => tracing::debug!(host = %target.host, "ssh-agent could not sign: {e}"),
        }
    }
    Ok(false)
}

/// Loads a private key, asking for its passphrase when it is encrypted.
async fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || load_key_blocking(&owned))
        .await
        .map_err(|e| format!("internal error loading a key (a bug in dr): {e}"))?
}

fn load_key_blocking(path: &Path) -> Result<PrivateKey, String> {
    let shown = path.display();
    match load_secret_key(path, None) {
        Ok(k) => return Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        Err(e) => return Err(format!("cannot read the private key `{shown}`: {e}")),
    }
    // Hold the lock across the prompt: hosts connecting at once must not prompt together.
    let mut cache = PASSPHRASES.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(pass) = cache.get(path) {
        return load_secret_key(path, Some(pass))
            .map_err(|e| format!("cannot decrypt the private key `{shown}`: {e}"));
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "the private key `{shown}` is encrypted and there is no terminal to ask for its passphrase: \
             add it to ssh-agent (`ssh-add {shown}`) or run dr from a terminal"
        ));
    }
    let pass = Zeroizing::new(
        rpassword::prompt_password(format!("passphrase for key `{shown}`: "))
            .map_err(|e| format!("cannot read the passphrase for `{shown}`: {e}"))?,
    );
    let key = load_secret_key(path, Some(&pass)).map_err(|e| {
        format!("cannot decrypt the private key `{shown}` (wrong passphrase?): {e}")
    })?;
    cache.insert(path.to_path_buf(), pass);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_key_without_terminal_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "secret", "-f"])
            .arg(&key)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            panic!("this test needs ssh-keygen (apt-get install openssh-client)");
        }
        // cargo test runs with stdin not a terminal, or redirected; skip the prompt path.
        if std::io::stdin().is_terminal() {
            return;
        }
        let err = load_key_blocking(&key).unwrap_err();
        assert!(
            err.contains("is encrypted") && err.contains("ssh-add"),
            "{err}"
        );
    }
}
