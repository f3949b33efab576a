//! The vault file format: an ASCII-armored age file, so vault files diff and review in git.

use std::io::{Read, Write};
use std::iter;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::{DecryptError, Decryptor, Encryptor, x25519};
use zeroize::Zeroizing;

use super::error::VaultError;
use super::key::VaultKey;

/// The first line of every vault file.
pub const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// The last line of every vault file.
pub const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";

/// Highest scrypt work factor (log2 N) accepted when opening a passphrase vault. age's
/// default is "this machine's target + 4", which rejects files made on a faster machine
/// (the trap in DEPENDENCIES.md); 22 is age's own suggested ceiling (~4 GiB, tens of seconds).
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// 0 = let age pick (about one second of work on this machine).
static SCRYPT_WORK_FACTOR: AtomicU8 = AtomicU8::new(0);

/// Test hook: makes passphrase encryption use scrypt `N = 2^log_n` instead of age's
/// calibrated value, so debug-build tests do not spend a second per vault. Never call this
/// outside tests: a low work factor makes passphrases cheap to brute-force.
#[doc(hidden)]
pub fn set_scrypt_work_factor_for_tests(log_n: u8) {
    SCRYPT_WORK_FACTOR.store(log_n.clamp(1, 30), Ordering::Relaxed);
}

fn scrypt_work_factor() -> Option<u8> {
    match SCRYPT_WORK_FACTOR.load(Ordering::Relaxed) {
        0 if cfg!(debug_assertions) => std::env::var("DR_VAULT_TEST_SCRYPT_WORK_FACTOR")
            .ok()
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|n| (1..=30).contains(n)),
        0 => None,
        n => Some(n),
    }
}

/// Whether `bytes` look like a vault file: the age armor header, after optional leading
/// whitespace.
pub fn is_vault(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(ARMOR_BEGIN.as_bytes())
}

/// Encrypts `plaintext` with a passphrase or to the public keys of the key's identities, and
/// returns the armored text.
pub fn encrypt(plaintext: &[u8], key: &VaultKey) -> Result<String, VaultError> {
    match key {
        VaultKey::Passphrase(pass) => {
            let mut recipient = age::scrypt::Recipient::new(pass.secret());
            if let Some(log_n) = scrypt_work_factor() {
                recipient.set_work_factor(log_n);
            }
            let encryptor = Encryptor::with_recipients(iter::once(&recipient as _))
                .map_err(|e| encrypt_error(&e))?;
            seal(encryptor, plaintext)
        }
        VaultKey::Identities(ids) => {
            let recipients: Vec<x25519::Recipient> =
                ids.iter().map(x25519::Identity::to_public).collect();
            encrypt_to(plaintext, &recipients)
        }
    }
}

/// Encrypts `plaintext` with a passphrase at scrypt work factor `log_n` (`N = 2^log_n`,
/// memory `N` KiB), whatever the test hook says: the team key file's cost is chosen, not
/// calibrated.
pub(crate) fn encrypt_with_work_factor(
    plaintext: &[u8],
    pass: &super::key::Passphrase,
    log_n: u8,
) -> Result<String, VaultError> {
    let mut recipient = age::scrypt::Recipient::new(pass.secret());
    recipient.set_work_factor(log_n);
    let encryptor =
        Encryptor::with_recipients(iter::once(&recipient as _)).map_err(|e| encrypt_error(&e))?;
    seal(encryptor, plaintext)
}

/// Encrypts `plaintext` to a list of age public keys (a team sharing a vault) and returns the
/// armored text. Duplicates are dropped.
pub fn encrypt_to(
    plaintext: &[u8],
    recipients: &[x25519::Recipient],
) -> Result<String, VaultError> {
    let mut unique: Vec<&x25519::Recipient> = Vec::new();
    for r in recipients {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    let encryptor = Encryptor::with_recipients(unique.iter().map(|r| *r as &dyn age::Recipient))
        .map_err(|e| encrypt_error(&e))?;
    seal(encryptor, plaintext)
}

fn encrypt_error(e: &age::EncryptError) -> VaultError {
    VaultError::Encrypt {
        path: "-".into(),
        reason: e.to_string(),
    }
}

fn seal(encryptor: Encryptor, plaintext: &[u8]) -> Result<String, VaultError> {
    let bug = |e: std::io::Error| VaultError::Bug(format!("writing age output to memory: {e}"));
    let mut out = Vec::with_capacity(plaintext.len() * 2 + 512);
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(bug)?;
    let mut writer = encryptor.wrap_output(armor).map_err(bug)?;
    writer.write_all(plaintext).map_err(bug)?;
    writer
        .finish()
        .and_then(ArmoredWriter::finish)
        .map_err(bug)?;
    String::from_utf8(out).map_err(|_| VaultError::Bug("age armor is not ASCII".into()))
}

/// Decrypts an armored vault read from `path` (named in every error). The plaintext is wiped
/// from memory when the returned value is dropped.
pub fn decrypt(
    path: &Path,
    armored: &[u8],
    key: &VaultKey,
) -> Result<Zeroizing<String>, VaultError> {
    if !is_vault(armored) {
        if super::ansible::is_ansible_vault(armored) {
            return Err(VaultError::AnsibleVault {
                path: path.to_owned(),
            });
        }
        return Err(VaultError::NotAVault {
            path: path.to_owned(),
        });
    }
    let corrupted = |reason: String| VaultError::Corrupted {
        path: path.to_owned(),
        reason,
    };
    if !armored.trim_ascii_end().ends_with(ARMOR_END.as_bytes()) {
        return Err(corrupted(format!(
            "the `{ARMOR_END}` line is missing (the file was cut short)"
        )));
    }
    let decryptor = Decryptor::new_buffered(ArmoredReader::new(armored.trim_ascii_start()))
        .map_err(|e| corrupted(describe(&e)))?;

    let mut plaintext = Zeroizing::new(Vec::new());
    let mut reader = match key {
        VaultKey::Passphrase(pass) => {
            if !decryptor.is_scrypt() {
                return Err(VaultError::WrongKeyKind {
                    path: path.to_owned(),
                    found: "age identities",
                    given: "a vault password",
                    hint: "`--vault-identity FILE`",
                });
            }
            let mut identity = age::scrypt::Identity::new(pass.secret());
            identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
            decryptor
                .decrypt(iter::once(&identity as &dyn age::Identity))
                .map_err(|e| match e {
                    DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed => {
                        VaultError::WrongPassword {
                            path: path.to_owned(),
                        }
                    }
                    DecryptError::ExcessiveWork { required, .. } => VaultError::ExcessiveWork {
                        path: path.to_owned(),
                        required,
                        max: MAX_SCRYPT_WORK_FACTOR,
                    },
                    other => corrupted(describe(&other)),
                })?
        }
        VaultKey::Identities(ids) => {
            if decryptor.is_scrypt() {
                return Err(VaultError::WrongKeyKind {
                    path: path.to_owned(),
                    found: "a vault password",
                    given: "age identities",
                    hint: "`--vault-password-file FILE`",
                });
            }
            decryptor
                .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
                .map_err(|e| match e {
                    DecryptError::NoMatchingKeys => VaultError::NoMatchingIdentity {
                        path: path.to_owned(),
                    },
                    other => corrupted(describe(&other)),
                })?
        }
    };
    reader
        .read_to_end(&mut plaintext)
        .map_err(|e| corrupted(describe_io(&e)))?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| VaultError::NotUtf8 {
        path: path.to_owned(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn describe(e: &DecryptError) -> String {
    match e {
        DecryptError::Io(io) => describe_io(io),
        DecryptError::InvalidHeader => "the age header is invalid".into(),
        DecryptError::InvalidMac => "the age header MAC does not match".into(),
        DecryptError::UnknownFormat => "unknown age format version".into(),
        DecryptError::DecryptionFailed => "the payload does not decrypt".into(),
        other => other.to_string(),
    }
}

fn describe_io(e: &std::io::Error) -> String {
    let armor = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<age::armor::ArmoredReadError>());
    match (e.kind(), armor) {
        (_, Some(armor)) => armor.to_string(),
        (std::io::ErrorKind::UnexpectedEof, None) => "the file ends early".into(),
        (std::io::ErrorKind::InvalidData, None) => {
            "the encrypted payload fails authentication (damaged or cut short)".into()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::key::Passphrase;

    fn pass(p: &str) -> VaultKey {
        set_scrypt_work_factor_for_tests(2);
        VaultKey::Passphrase(Passphrase::new(p))
    }

    #[test]
    fn passphrase_round_trip_is_armored() {
        let key = pass("pw");
        let armored = encrypt(b"db_password: x\n", &key).expect("encrypt");
        assert!(armored.starts_with(ARMOR_BEGIN));
        assert!(is_vault(armored.as_bytes()));
        let plain = decrypt(Path::new("v.yml"), armored.as_bytes(), &key).expect("decrypt");
        assert_eq!(plain.as_str(), "db_password: x\n");
    }

    #[test]
    fn wrong_passphrase_names_the_file() {
        let armored = encrypt(b"a: 1\n", &pass("right")).expect("encrypt");
        let err = decrypt(
            Path::new("vault/staging.yml"),
            armored.as_bytes(),
            &pass("wrong"),
        )
        .expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "wrong vault password for `vault/staging.yml`"
        );
    }

    #[test]
    fn identities_round_trip_and_kind_mismatch() {
        let id = x25519::Identity::generate();
        let key = VaultKey::Identities(vec![id]);
        let armored = encrypt(b"a: 1\n", &key).expect("encrypt");
        let plain = decrypt(Path::new("v.yml"), armored.as_bytes(), &key).expect("decrypt");
        assert_eq!(plain.as_str(), "a: 1\n");
        let err = decrypt(Path::new("v.yml"), armored.as_bytes(), &pass("pw")).expect_err("kind");
        assert!(matches!(err, VaultError::WrongKeyKind { .. }), "{err}");
    }
}
