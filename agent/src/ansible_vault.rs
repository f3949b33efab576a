//! ansible-vault's envelope (format 1.1 and 1.2, cipher AES256): sealing and opening text,
//! for the `vault`/`unvault` filters and the controller's vault reader.
//!
//! Envelope: a header line `$ANSIBLE_VAULT;1.1;AES256` or `$ANSIBLE_VAULT;1.2;AES256;<id>`,
//! then hex in lines of 80. That hex decodes to `hex(salt) \n hex(hmac) \n hex(ciphertext)`.
//! Keys: PBKDF2-HMAC-SHA256(password, salt, 10000 rounds, 80 bytes) = AES key (32) ‖ HMAC
//! key (32) ‖ CTR IV (16). The HMAC-SHA256 over the ciphertext is checked before decrypting
//! with AES-256-CTR; the plaintext carries PKCS#7 padding.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;
const BLOCK: usize = 16;

/// Why an envelope could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Not an ansible-vault envelope, or a damaged one.
    #[error("{0}")]
    Format(String),
    /// The HMAC does not match: another password (or altered data).
    #[error("the password does not open it (HMAC mismatch)")]
    WrongPassword,
    /// The plaintext is not UTF-8 text.
    #[error("its plaintext is not UTF-8 text")]
    NotUtf8,
}

/// Whether `bytes` start with the ansible-vault header.
pub fn is_ansible_vault(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(HEADER.as_bytes())
}

struct Keys {
    aes: [u8; 32],
    hmac: [u8; 32],
    iv: [u8; 16],
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.aes.fill(0);
        self.hmac.fill(0);
        self.iv.fill(0);
    }
}

fn keys(password: &[u8], salt: &[u8]) -> Keys {
    let mut derived = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut derived);
    let mut k = Keys {
        aes: [0; 32],
        hmac: [0; 32],
        iv: [0; 16],
    };
    k.aes.copy_from_slice(&derived[..32]);
    k.hmac.copy_from_slice(&derived[32..64]);
    k.iv.copy_from_slice(&derived[64..]);
    derived.fill(0);
    k
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; a 32-byte key cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn keystream(k: &Keys, data: &mut [u8]) {
    let mut cipher = ctr::Ctr128BE::<Aes256>::new(&k.aes.into(), &k.iv.into());
    cipher.apply_keystream(data);
}

/// Seals `plain` with `password` as `ansible-vault encrypt_string` does: format 1.1, or 1.2
/// naming `vault_id` when one other than `default` is given; 80-column hex lines and a
/// final newline.
pub fn encrypt(plain: &[u8], password: &[u8], salt: &[u8], vault_id: Option<&str>) -> String {
    let k = keys(password, salt);
    let pad = BLOCK - plain.len() % BLOCK;
    let mut data = Vec::with_capacity(plain.len() + pad);
    data.extend_from_slice(plain);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    keystream(&k, &mut data);
    let mut m = mac(&k.hmac);
    m.update(&data);
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(m.finalize().into_bytes()),
        hex::encode(&data)
    );
    let body = hex::encode(inner.as_bytes());
    let mut out = match vault_id.filter(|id| !id.is_empty() && *id != "default") {
        Some(id) => format!("{HEADER};1.2;AES256;{id}"),
        None => format!("{HEADER};1.1;AES256"),
    };
    for line in body.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    out.push('\n');
    out
}

/// Opens the envelope `text` with `password`.
pub fn decrypt(text: &str, password: &[u8]) -> Result<String, VaultError> {
    let env = parse(text)?;
    let k = keys(password, &env.salt);
    let mut m = mac(&k.hmac);
    m.update(&env.ciphertext);
    m.verify_slice(&env.hmac)
        .map_err(|_| VaultError::WrongPassword)?;
    let mut plain = env.ciphertext;
    keystream(&k, &mut plain);
    let format = |reason: &str| VaultError::Format(reason.to_owned());
    let pad = usize::from(*plain.last().ok_or_else(|| format("the payload is empty"))?);
    if pad == 0
        || pad > BLOCK
        || pad > plain.len()
        || !plain[plain.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    {
        plain.fill(0);
        return Err(format("bad PKCS#7 padding"));
    }
    plain.truncate(plain.len() - pad);
    String::from_utf8(plain).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.fill(0);
        VaultError::NotUtf8
    })
}

/// The parts of an envelope.
struct Envelope {
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn parse(text: &str) -> Result<Envelope, VaultError> {
    let format = |reason: String| VaultError::Format(reason);
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
    if env.ciphertext.is_empty() || !env.ciphertext.len().is_multiple_of(BLOCK) {
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
        assert!(is_ansible_vault(b"  $ANSIBLE_VAULT;1.1;AES256\n3132"));
        assert!(!is_ansible_vault(b"a: 1\n"));
    }

    #[test]
    fn a_sealed_text_opens_with_its_password_only() {
        let sealed = encrypt(b"foo: bar\n", b"pw", b"salt", None);
        assert!(
            sealed.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"),
            "{sealed}"
        );
        assert!(sealed.ends_with('\n'));
        assert!(sealed.lines().skip(1).all(|l| l.len() <= 80));
        assert_eq!(decrypt(&sealed, b"pw").as_deref(), Ok("foo: bar\n"));
        assert_eq!(decrypt(&sealed, b"other"), Err(VaultError::WrongPassword));
        let named = encrypt(b"x", b"pw", b"salt", Some("prod"));
        assert!(
            named.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
            "{named}"
        );
        assert!(encrypt(b"x", b"pw", b"s", Some("default")).starts_with("$ANSIBLE_VAULT;1.1;"));
    }

    #[test]
    fn rejects_other_ciphers_versions_and_damage() {
        let err = decrypt("$ANSIBLE_VAULT;1.0;AES\n00", b"pw").expect_err("v");
        assert!(
            err.to_string().contains("unsupported format `1.0`"),
            "{err}"
        );
        let err = decrypt("$ANSIBLE_VAULT;1.1;AES128\n00", b"pw").expect_err("c");
        assert!(err.to_string().contains("unsupported cipher"), "{err}");
        let err = decrypt("hello", b"pw").expect_err("h");
        assert!(err.to_string().contains("first line"), "{err}");
        let sealed = encrypt(b"abc", b"pw", b"salt", None);
        let cut: String = sealed.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(decrypt(&cut, b"pw").is_err());
    }
}
