//! Deciding whether to trust the key a host presents: a key pinned in inventory
//! (`dr_host_key`) wins; otherwise known_hosts decides, and an unknown host is refused
//! unless the operator chose `--accept-new-host-keys`. A changed key is always refused.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use russh::keys::PublicKeyOrCertificate;
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};

use super::flow::Flow;
use super::known_hosts::{self, KnownKey};

/// Where trust comes from for one host.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Keys pinned in inventory (`dr_host_key`); known_hosts is not consulted.
    Pinned(Vec<PublicKey>),
    /// known_hosts files.
    KnownHosts {
        /// Files read, user files first.
        files: Vec<PathBuf>,
        /// Where a new key is recorded when accepting new hosts; `None` refuses unknown hosts.
        record_to: Option<PathBuf>,
    },
}

/// Serialises appends to known_hosts files across concurrent connections.
static RECORD_LOCK: Mutex<()> = Mutex::new(());

/// The host-key check for one connection.
#[derive(Debug, Clone)]
pub struct HostKeyCheck {
    /// Inventory name, for messages.
    pub host: String,
    /// The name looked up in known_hosts (`addr` or `[addr]:port`).
    pub lookup: String,
    /// Where trust comes from.
    pub trust: Trust,
}

impl HostKeyCheck {
    /// Host key algorithms to ask for, those with a recorded key first (as OpenSSH does), so
    /// a host known by its RSA key is not asked for a new ed25519 key it was never seen with.
    pub fn preferred_algorithms(&self) -> Vec<Algorithm> {
        let known: Vec<Algorithm> = match &self.trust {
            Trust::Pinned(keys) => keys.iter().map(PublicKey::algorithm).collect(),
            Trust::KnownHosts { files, .. } => known_hosts::keys_for(files, &self.lookup)
                .into_iter()
                .filter(|k| !k.revoked)
                .map(|k| k.key.algorithm())
                .collect(),
        };
        let defaults = russh::Preferred::DEFAULT.key.to_vec();
        let mut order: Vec<Algorithm> = Vec::new();
        for k in &known {
            for d in &defaults {
                let same = match (k, d) {
                    (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
                    (a, b) => a == b,
                };
                if same && !order.contains(d) {
                    order.push(d.clone());
                }
            }
        }
        for d in defaults {
            if !order.contains(&d) {
                order.push(d);
            }
        }
        order
    }

    /// Accepts `key` or says why not (the message names the host and both fingerprints).
    pub fn verify(&self, key: &PublicKey) -> Result<(), String> {
        let seen = fingerprint(key);
        match &self.trust {
            Trust::Pinned(pinned) => {
                if pinned.iter().any(|p| p.key_data() == key.key_data()) {
                    return Ok(());
                }
                let expected: Vec<String> = pinned.iter().map(fingerprint).collect();
                Err(format!(
                    "host key of `{}` does not match the key pinned in inventory (`dr_host_key`): \
                     expected {}, the host presented {seen}; if the host was rebuilt, update `dr_host_key`",
                    self.host,
                    expected.join(" or ")
                ))
            }
            Trust::KnownHosts { files, record_to } => {
                let known = known_hosts::keys_for(files, &self.lookup);
                if let Some(r) = known
                    .iter()
                    .find(|k| k.revoked && k.key.key_data() == key.key_data())
                {
                    return Err(format!(
                        "host key of `{}` ({seen}) is marked @revoked at {}; refused",
                        self.host, r.origin
                    ));
                }
                let trusted: Vec<&KnownKey> = known.iter().filter(|k| !k.revoked).collect();
                if trusted.iter().any(|k| k.key.key_data() == key.key_data()) {
                    return Ok(());
                }
                if let Some(old) = trusted.first() {
                    return Err(changed_message(&self.host, &self.lookup, old, &seen));
                }
                match record_to {
                    Some(file) => {
                        let _guard = RECORD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
                        known_hosts::append(file, &self.lookup, key).map_err(|e| {
                            format!(
                                "cannot record the host key of `{}` in `{}`: {e}",
                                self.host,
                                file.display()
                            )
                        })?;
                        tracing::warn!(host = %self.host, "recorded new host key {seen} for `{}` in `{}`", self.lookup, file.display());
                        Ok(())
                    }
                    None => Err(format!(
                        "host key of `{}` is unknown: `{}` presented {seen}, which no known_hosts file \
                         ({}) records; check the fingerprint, then rerun with --accept-new-host-keys \
                         (or pin it in inventory as `dr_host_key`)",
                        self.host,
                        self.lookup,
                        files
                            .iter()
                            .map(|f| format!("`{}`", f.display()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
            }
        }
    }
}

fn changed_message(host: &str, lookup: &str, old: &KnownKey, seen: &str) -> String {
    let file = old
        .origin
        .rsplit_once(':')
        .map_or(old.origin.as_str(), |(f, _)| f);
    format!(
        "host key of `{host}` has CHANGED: known_hosts records {} at {}, the host presented {seen}; \
         refused (this is what a man-in-the-middle looks like; if the host was rebuilt, remove the \
         old key with `ssh-keygen -R '{lookup}' -f {file}` and rerun with --accept-new-host-keys)",
        fingerprint(&old.key),
        old.origin,
    )
}

/// `ssh-ed25519 SHA256:...`, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

/// The russh client handler: runs the check and keeps the refusal for the error message;
/// passes the channels' windows on to the connection's [`Flow`].
pub struct Handler {
    /// The check to run.
    pub check: HostKeyCheck,
    /// Why the key was refused, when it was.
    pub refusal: Arc<Mutex<Option<String>>>,
    /// The channels' windows, for pacing the agent push.
    pub flow: Arc<Flow>,
}

impl russh::client::Handler for Handler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check.verify(key),
            PublicKeyOrCertificate::Certificate(_) => Err(format!(
                "`{}` presented a host certificate; dr verifies plain host keys only",
                self.check.host
            )),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }

    async fn channel_open_confirmation(
        &mut self,
        id: russh::ChannelId,
        _max_packet_size: u32,
        window_size: u32,
        session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        let openssh = session.remote_sshid().starts_with(b"SSH-2.0-OpenSSH_");
        self.flow.opened(id.number(), window_size, openssh);
        Ok(())
    }

    async fn window_adjusted(
        &mut self,
        id: russh::ChannelId,
        new_size: u32,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        self.flow.adjusted(id.number(), new_size);
        Ok(())
    }

    async fn channel_close(
        &mut self,
        id: russh::ChannelId,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        self.flow.closed(id.number());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN0rPS0hqPk7CBR5KWFU80U+zS56x8lAp8/DN/Mf8eDA";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC1vphQbc1rhEiBycjoUPf+cApEWQDFgYRcdQ5Pf8cFs";

    fn check(dir: &std::path::Path, known: &str, accept: bool) -> HostKeyCheck {
        let file = dir.join("known_hosts");
        std::fs::write(&file, known).unwrap();
        HostKeyCheck {
            host: "web1".into(),
            lookup: "[127.0.0.1]:2200".into(),
            trust: Trust::KnownHosts {
                files: vec![file.clone()],
                record_to: accept.then_some(file),
            },
        }
    }

    #[test]
    fn known_unknown_changed_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let a = PublicKey::from_openssh(A).unwrap();
        let b = PublicKey::from_openssh(B).unwrap();
        let c = check(dir.path(), &format!("[127.0.0.1]:2200 {A}\n"), false);
        assert!(c.verify(&a).is_ok());
        let err = c.verify(&b).unwrap_err();
        assert!(err.contains("CHANGED"), "{err}");
        assert!(
            err.contains(&fingerprint(&a)) && err.contains(&fingerprint(&b)),
            "{err}"
        );
        assert!(err.contains("known_hosts:1"), "{err}");

        let c = check(dir.path(), "", false);
        let err = c.verify(&a).unwrap_err();
        assert!(
            err.contains("unknown") && err.contains("--accept-new-host-keys"),
            "{err}"
        );

        let c = check(dir.path(), "", true);
        assert!(c.verify(&a).is_ok());
        assert!(c.verify(&a).is_ok(), "learned once, then known");
        assert!(c.verify(&b).unwrap_err().contains("CHANGED"));

        let pinned = HostKeyCheck {
            trust: Trust::Pinned(vec![b.clone()]),
            ..c
        };
        assert!(
            pinned.verify(&b).is_ok(),
            "a pinned key wins over known_hosts"
        );
        assert!(pinned.verify(&a).unwrap_err().contains("dr_host_key"));
    }
}
