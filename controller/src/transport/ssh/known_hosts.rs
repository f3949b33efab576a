//! known_hosts files as OpenSSH reads them: plain and hashed (`|1|salt|hash`) host names,
//! `[host]:port`, comma-separated patterns with `*`/`?` wildcards and `!` negation, several
//! keys per host, `@revoked` lines. `@cert-authority` lines are skipped (dr does not trust
//! host certificates). russh's own helper misses most of this (see DEPENDENCIES.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use russh::keys::ssh_key::PublicKey;

/// One key line that applies to a host.
#[derive(Debug, Clone)]
pub struct KnownKey {
    /// The recorded key.
    pub key: PublicKey,
    /// Where it was read, `file:line`, for messages.
    pub origin: String,
    /// An `@revoked` line: this key must never be accepted.
    pub revoked: bool,
}

/// The name OpenSSH looks up for `address:port`: `host`, or `[host]:port` off port 22.
pub fn lookup_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_owned()
    } else {
        format!("[{address}]:{port}")
    }
}

/// Every key recorded for `name` (see [`lookup_name`]) in `files`, in file order. Missing
/// files are no error: most machines lack one of the defaults.
pub fn keys_for(files: &[PathBuf], name: &str) -> Vec<KnownKey> {
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if let Some(entry) = parse_line(line, name) {
                found.push(KnownKey {
                    key: entry.0,
                    revoked: entry.1,
                    origin: format!("{}:{}", file.display(), n + 1),
                });
            }
        }
    }
    found
}

/// Parses one line; returns its key and whether it is revoked when it applies to `name`.
fn parse_line(line: &str, name: &str) -> Option<(PublicKey, bool)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if first.starts_with('@') {
        match first {
            "@revoked" => revoked = true,
            _ => return None,
        }
        first = fields.next()?;
    }
    if !host_matches(first, name) {
        return None;
    }
    let algorithm = fields.next()?;
    let data = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {data}")).ok()?;
    Some((key, revoked))
}

/// Whether the host field of a line (`patterns` or a hashed name) names `name`.
fn host_matches(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        return hashed_matches(hashed, name);
    }
    let mut positive = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated, name) {
                return false;
            }
        } else if glob(pattern, name) {
            positive = true;
        }
    }
    positive
}

/// `salt|hash`, both base64: HMAC-SHA1 of the name keyed with the salt.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH's host pattern match: `*` any run, `?` one character, case-insensitive.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Appends `name key` to `file` (creating it and its directory), as `accept-new` does.
pub fn append(file: &Path, name: &str, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let encoded = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    // Only the algorithm and key: the comment of a host key is the server's business.
    let mut parts = encoded.split_whitespace();
    let line = format!(
        "{name} {} {}\n",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    );
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN0rPS0hqPk7CBR5KWFU80U+zS56x8lAp8/DN/Mf8eDA";

    fn with_file(text: &str, name: &str) -> Vec<KnownKey> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("known_hosts");
        std::fs::write(&f, text).unwrap();
        keys_for(&[f, dir.path().join("missing")], name)
    }

    #[test]
    fn plain_bracketed_and_patterns() {
        let text = format!(
            "# comment\nweb1,10.0.0.1 {ED}\n[10.0.0.2]:2222 {ED}\n*.db.example !bad.db.example {ED}\n"
        );
        assert_eq!(with_file(&text, "web1").len(), 1);
        assert_eq!(with_file(&text, "10.0.0.1").len(), 1);
        assert_eq!(with_file(&text, &lookup_name("10.0.0.2", 2222)).len(), 1);
        assert_eq!(with_file(&text, "10.0.0.2").len(), 0);
        let text = format!("*.db.example,!bad.db.example\t{ED}\n");
        assert_eq!(with_file(&text, "a.db.example").len(), 1);
        assert_eq!(with_file(&text, "bad.db.example").len(), 0);
    }

    #[test]
    fn hashed_names_and_markers() {
        // The hashed form `ssh-keygen -H` writes for `[127.0.0.1]:2222`.
        let salt = B64.encode(b"0123456789abcdefghij");
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"0123456789abcdefghij").unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = B64.encode(mac.finalize().into_bytes());
        let text = format!("|1|{salt}|{hash} {ED}\n@revoked web1 {ED}\n@cert-authority * {ED}\n");
        let found = with_file(&text, "[127.0.0.1]:2222");
        assert_eq!(found.len(), 1);
        assert!(found[0].origin.ends_with(":1"));
        let web = with_file(&text, "web1");
        assert_eq!(web.len(), 1);
        assert!(web[0].revoked);
    }

    #[test]
    fn append_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/known_hosts");
        let key = PublicKey::from_openssh(ED).unwrap();
        append(&f, "[127.0.0.1]:2200", &key).unwrap();
        let found = keys_for(&[f], "[127.0.0.1]:2200");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key.key_data(), key.key_data());
    }
}
