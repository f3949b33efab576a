//! The team key: one age X25519 identity, kept in a passphrase-protected file (an age
//! scrypt file holding `AGE-SECRET-KEY-1...`, the format `age -p` gives an identity file, so
//! `age -d -i vault/.key.age` opens vault files too). A run derives the passphrase key once,
//! for this file; every vault sealed to the identity's public key then opens with one X25519
//! exchange (microseconds, no memory-hard work).

use std::path::Path;

use age::secrecy::ExposeSecret;
use age::x25519;
use zeroize::Zeroizing;

use super::atomic::{self, PRIVATE_MODE};
use super::error::VaultError;
use super::key::{Passphrase, VaultKey};

/// Where the team key is looked for, relative to the directory holding `dr.toml` (or the
/// working directory), unless dr.toml sets `vault_key_file`.
pub const DEFAULT_KEY_FILE: &str = "vault/.key.age";

/// scrypt work factor (log2 N) of a new team key file: N = 2^15 needs 32 MiB and ~0.1 s,
/// which keeps a whole run under 64 MB; age's calibrated default (2^18 and up) needs 256 MiB
/// or more. `dr vault keygen --work-factor` chooses another.
pub const KEY_FILE_WORK_FACTOR: u8 = 15;

/// Lowest and highest work factor `dr vault keygen` accepts.
pub const WORK_FACTOR_RANGE: std::ops::RangeInclusive<u8> = 10..=22;

/// Generates a new identity, seals it with `pass` at scrypt `N = 2^log_n` and writes it to
/// `key_file` (mode 0600, atomically; its directory is created). Refuses to overwrite a key.
/// Returns the public key to encrypt vault files to.
pub fn create(
    key_file: &Path,
    pass: &Passphrase,
    log_n: u8,
) -> Result<x25519::Recipient, VaultError> {
    if key_file.exists() {
        return Err(VaultError::KeyFileExists {
            path: key_file.to_owned(),
        });
    }
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| VaultError::io("create directory", dir, e))?;
    }
    let identity = x25519::Identity::generate();
    let public = identity.to_public();
    let text = Zeroizing::new(format!(
        "# dr team key: vault files encrypted to {public} open with it\n# public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    ));
    let armored = super::age_file::encrypt_with_work_factor(text.as_bytes(), pass, log_n).map_err(
        |e| match e {
            VaultError::Encrypt { reason, .. } => VaultError::Encrypt {
                path: key_file.to_owned(),
                reason,
            },
            other => other,
        },
    )?;
    atomic::write(key_file, armored.as_bytes(), PRIVATE_MODE, true)?;
    Ok(public)
}

/// Opens the team key file with `pass` (one scrypt derivation). `for_path` is the vault file
/// that needed it, named in the errors.
pub fn open(
    key_file: &Path,
    pass: &Passphrase,
    for_path: &Path,
) -> Result<x25519::Identity, VaultError> {
    let bytes = match std::fs::read(key_file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::KeyFileMissing {
                path: for_path.to_owned(),
                key_file: key_file.to_owned(),
            });
        }
        Err(e) => return Err(VaultError::io("read the team key", key_file, e)),
    };
    let text = super::decrypt(key_file, &bytes, &VaultKey::Passphrase(pass.clone())).map_err(
        |e| match e {
            VaultError::WrongPassword { .. } => VaultError::WrongKeyPassword {
                key_file: key_file.to_owned(),
                path: for_path.to_owned(),
            },
            other => other,
        },
    )?;
    let mut found = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id =
            line.parse::<x25519::Identity>()
                .map_err(|reason| VaultError::BadIdentityFile {
                    path: key_file.to_owned(),
                    reason: format!("line {}: {reason}", n + 1),
                })?;
        if found.replace(id).is_some() {
            return Err(VaultError::BadIdentityFile {
                path: key_file.to_owned(),
                reason: "a team key file holds exactly one identity".into(),
            });
        }
    }
    found.ok_or_else(|| VaultError::BadIdentityFile {
        path: key_file.to_owned(),
        reason: "it holds no `AGE-SECRET-KEY-1...` line".into(),
    })
}

/// Re-seals the team key file with a new passphrase, keeping its scrypt work factor (a plain
/// `rekey` would recalibrate it to age's default, 256 MiB or more per run). The identity,
/// and so every vault sealed to it, stays the same.
pub fn change_passphrase(
    key_file: &Path,
    old: &Passphrase,
    new: &Passphrase,
) -> Result<(), VaultError> {
    let bytes = std::fs::read(key_file).map_err(|e| VaultError::io("read", key_file, e))?;
    let log_n = match super::sealed_to(key_file, &bytes)? {
        super::Sealed::Passphrase { log_n } => log_n,
        super::Sealed::Recipients { .. } => KEY_FILE_WORK_FACTOR,
    };
    let plain = super::decrypt(key_file, &bytes, &VaultKey::Passphrase(old.clone()))?;
    let armored = super::age_file::encrypt_with_work_factor(plain.as_bytes(), new, log_n)?;
    atomic::write(key_file, armored.as_bytes(), PRIVATE_MODE, true)
}

/// Whether `a` and `b` name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn create_then_open_private_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_file = dir.path().join("vault/.key.age");
        let pass = Passphrase::new("team pass");
        let public = create(&key_file, &pass, 10).expect("keygen");
        let mode = std::fs::metadata(&key_file)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let id = open(&key_file, &pass, Path::new("v.yml")).expect("open");
        assert_eq!(id.to_public(), public);
        let err = create(&key_file, &pass, 10).expect_err("exists");
        assert!(matches!(err, VaultError::KeyFileExists { .. }), "{err}");
        let Err(err) = open(&key_file, &Passphrase::new("nope"), Path::new("v.yml")) else {
            panic!("a wrong passphrase must not open the key");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "wrong vault password for the team key `{}` (needed to open `v.yml`)",
                key_file.display()
            )
        );
    }
}
