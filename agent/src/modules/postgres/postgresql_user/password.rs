//! Whether a role's stored password already is the task's, as the collection's
//! `user_should_we_change_password` decides it: an empty password means none; a SCRAM
//! verifier given as the password is compared as text; a clear-text password is checked
//! against a stored SCRAM verifier by recomputing its `ServerKey` (RFC 5802), against a
//! stored MD5 hash by `md5(password || user)`; an MD5 hash given as the password (or
//! `encrypted: false`) is compared as text.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Whether setting `password` would change `current` (the stored `rolpassword`; `None`
/// outside `Unknown`: no password). `Unknown`: the stored password cannot be read (no
/// access to `pg_authid`), which the collection counts as a change.
pub(super) fn changing(current: Stored<'_>, user: &str, password: &str, encrypted: bool) -> bool {
    let current = match current {
        Stored::Unknown => return true,
        Stored::Known(c) => c,
    };
    if password.is_empty() {
        return current.is_some();
    }
    if is_scram(password) {
        return Some(password) != current;
    }
    if let Some(c) = current
        && is_scram(c)
    {
        return !scram_matches(c, password);
    }
    if (password.starts_with("md5") && password.len() == 35) || !encrypted {
        return Some(password) != current;
    }
    Some(md5_hash(password, user).as_str()) != current
}

/// What `pg_authid` says of the password.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stored<'a> {
    /// Readable: the verifier, or none.
    Known(Option<&'a str>),
    /// Not readable.
    Unknown,
}

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
fn scram_parts(s: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let rest = s.strip_prefix("SCRAM-SHA-256$")?;
    let (iter_salt, keys) = rest.split_once('$')?;
    let (iterations, salt) = iter_salt.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    };
    if !(ok(salt) && ok(stored) && ok(server) && iterations.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some((
        iterations.parse().ok()?,
        b64.decode(salt).ok()?,
        b64.decode(server).ok()?,
    ))
}

fn is_scram(s: &str) -> bool {
    scram_parts(s).is_some()
}

/// RFC 5802: `ServerKey = HMAC(Hi(password, salt, i), "Server Key")`. The collection
/// normalises the password with SASLprep first; that is the identity for the ASCII
/// passwords checked here, and a non-ASCII password that SASLprep would change is then
/// reported as changing (a harmless `ALTER USER` that stores the same password).
fn scram_matches(verifier: &str, password: &str) -> bool {
    let Some((iterations, salt, server_key)) = scram_parts(verifier) else {
        return false;
    };
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&salted) else {
        return false;
    };
    mac.update(b"Server Key");
    mac.finalize().into_bytes().as_slice() == server_key.as_slice()
}

/// PostgreSQL's MD5 password hash: `md5` + hex(md5(password || user)).
fn md5_hash(password: &str, user: &str) -> String {
    let mut h = md5::Md5::new();
    h.update(password.as_bytes());
    h.update(user.as_bytes());
    format!("md5{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verifier PostgreSQL 15 stored for the password `secret`.
    fn verifier() -> String {
        // Computed as the server does, from a fixed salt, so the test needs no server.
        let salt = b"0123456789abcdef";
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"secret", salt, 4096, &mut salted);
        let key = |label: &[u8]| {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&salted)
                .unwrap_or_else(|_| unreachable!());
            m.update(label);
            m.finalize().into_bytes().to_vec()
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let stored = Sha256::digest(key(b"Client Key"));
        format!(
            "SCRAM-SHA-256$4096:{}${}:{}",
            b64.encode(salt),
            b64.encode(stored),
            b64.encode(key(b"Server Key"))
        )
    }

    #[test]
    fn clear_text_against_scram_and_md5() {
        let v = verifier();
        assert!(!changing(Stored::Known(Some(&v)), "app", "secret", true));
        assert!(changing(Stored::Known(Some(&v)), "app", "other", true));
        assert!(!changing(Stored::Known(Some(&v)), "app", &v, true));
        let md5 = md5_hash("secret", "app");
        assert!(!changing(Stored::Known(Some(&md5)), "app", "secret", true));
        assert!(!changing(Stored::Known(Some(&md5)), "app", &md5, true));
        assert!(changing(Stored::Known(Some(&md5)), "app", "other", true));
        assert!(changing(Stored::Known(Some(&md5)), "app", "", true));
        assert!(!changing(Stored::Known(None), "app", "", true));
        assert!(changing(Stored::Known(None), "app", "x", true));
        assert!(changing(Stored::Unknown, "app", "secret", true));
    }
}
