//! Reader for ansible-vault files (format 1.1 and 1.2, cipher AES256), for migration only.
//!
//! Envelope: a header line `$ANSIBLE_VAULT;1.1;AES256` or `$ANSIBLE_VAULT;1.2;AES256;<id>`,
//! then hex lines. Those hex-decode to `hex(salt) \n hex(hmac) \n hex(ciphertext)`. Keys:
//! PBKDF2-HMAC-SHA256(password, salt, 10000 rounds, 80 bytes) = AES key (32) ‖ HMAC key (32)
//! ‖ CTR IV (16). The HMAC-SHA256 over the ciphertext is checked before decrypting with
//! AES-256-CTR; the plaintext carries PKCS#7 padding.

use std::path::Path;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::VaultError;

const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;

/// Whether `bytes` start with the ansible-vault header.
pub fn is_ansible_vault(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(HEADER.as_bytes())
}

/// The parts of an ansible-vault envelope.
struct Envelope {
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// Decrypts the ansible-vault `text` read from `path` with `password` (already stripped of
/// surrounding whitespace, as Ansible strips password files).
pub fn decrypt(path: &Path, text: &str, password: &str) -> Result<String, VaultError> {
    let env = parse(path, text)?;
    let mut derived = Zeroizing::new([0u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &env.salt, ROUNDS, derived.as_mut());
    let (aes_key, rest) = derived.split_at(32);
    let (hmac_key, iv) = rest.split_at(32);

    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(hmac_key)
        .map_err(|_| VaultError::Bug("HMAC accepts any key length".into()))?;
    mac.update(&env.ciphertext);
    mac.verify_slice(&env.hmac)
        .map_err(|_| VaultError::AnsibleWrongPassword {
            path: path.to_owned(),
        })?;

    let mut plain = Zeroizing::new(env.ciphertext);
    let mut cipher = ctr::Ctr128BE::<Aes256>::new_from_slices(aes_key, iv)
        .map_err(|_| VaultError::Bug("AES-256-CTR key/iv sizes".into()))?;
    cipher.apply_keystream(&mut plain);

    let format = |reason: &str| VaultError::AnsibleFormat {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let pad = usize::from(*plain.last().ok_or_else(|| format("the payload is empty"))?);
    if pad == 0
        || pad > 16
        || pad > plain.len()
        || !plain[plain.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    {
        return Err(format("bad PKCS#7 padding"));
    }
    let len = plain.len() - pad;
    let text = std::str::from_utf8(&plain[..len]).map_err(|_| VaultError::NotUtf8 {
        path: path.to_owned(),
    })?;
    Ok(text.to_owned())
}

fn parse(path: &Path, text: &str) -> Result<Envelope, VaultError> {
    let format = |reason: String| VaultError::AnsibleFormat {
        path: path.to_owned(),
        reason,
    };
    let mut lines = text.trim().lines();
    let header = lines.next().unwrap_or_default().trim();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    match fields.as_slice() {
        [HEADER, "1.1", cipher] | [HEADER, "1.2", cipher, _] => {
            if *cipher != "AES256" {
                return Err(format(format!(
                    "unsupported cipher `{cipher}` (only AES256)"
                )));
            }
        }
        [HEADER, version, ..] => {
            return Err(format(format!(
                "unsupported format `{version}` (1.1 and 1.2 with AES256 are supported)"
            )));
        }
        _ => {
            return Err(format(
                "the first line is not `$ANSIBLE_VAULT;1.x;AES256`".into(),
            ));
        }
    }
    let body: String = lines.map(str::trim).collect();
    let inner = hex::decode(&body).map_err(|e| format(format!("the body is not hex: {e}")))?;
    let mut parts = inner.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format(
            "the body lacks salt, HMAC or ciphertext (truncated?)".into(),
        ));
    };
    let unhex = |what: &str, bytes: &[u8]| {
        hex::decode(bytes.trim_ascii()).map_err(|e| format(format!("the {what} is not hex: {e}")))
    };
    let env = Envelope {
        salt: unhex("salt", salt)?,
        hmac: unhex("HMAC", hmac)?,
        ciphertext: unhex("ciphertext", ciphertext)?,
    };
    if env.hmac.len() != 32 {
        return Err(format("the HMAC is not 32 bytes (truncated?)".into()));
    }
    if env.ciphertext.is_empty() || !env.ciphertext.len().is_multiple_of(16) {
        return Err(format(
            "the ciphertext is not whole AES blocks (truncated?)".into(),
        ));
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_header() {
        assert!(is_ansible_vault(b"$ANSIBLE_VAULT;1.1;AES256\n3132"));
        assert!(!is_ansible_vault(b"a: 1\n"));
    }

    #[test]
    fn rejects_other_ciphers_and_versions() {
        let err = decrypt(Path::new("x.yml"), "$ANSIBLE_VAULT;1.0;AES\n00", "pw").expect_err("v");
        assert!(
            err.to_string().contains("unsupported format `1.0`"),
            "{err}"
        );
        let err =
            decrypt(Path::new("x.yml"), "$ANSIBLE_VAULT;1.1;AES128\n00", "pw").expect_err("c");
        assert!(err.to_string().contains("unsupported cipher"), "{err}");
        let err = decrypt(Path::new("x.yml"), "hello", "pw").expect_err("h");
        assert!(
            err.to_string()
                .starts_with("`x.yml` is not a valid ansible-vault file"),
            "{err}"
        );
    }
}
