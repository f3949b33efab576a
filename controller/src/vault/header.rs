//! What an age vault's header says about who can open it, read without decrypting: the
//! run picks the key (passphrase or X25519 identity) per file, and `dr vault edit` refuses to
//! re-seal a file shared with recipients it cannot name.

use std::io::Read;
use std::path::Path;

use age::armor::ArmoredReader;

use super::error::VaultError;

/// Whom an age file is sealed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// A passphrase (one `scrypt` stanza); `log_n` is its scrypt work factor.
    Passphrase {
        /// scrypt `N = 2^log_n`.
        log_n: u8,
    },
    /// Public-key recipients (X25519 or others): `stanzas` of them.
    Recipients {
        /// How many recipient stanzas the header holds (age's random "grease" stanzas are
        /// not counted).
        stanzas: usize,
    },
}

/// The header of an armored age file ends well before this many bytes in any file dr writes
/// (one stanza is ~150 bytes); a longer header is refused rather than read without bound.
const MAX_HEADER: usize = 64 * 1024;

/// Reads the header of the armored vault `armored` (from `path`, named in errors).
pub fn sealed_to(path: &Path, armored: &[u8]) -> Result<Sealed, VaultError> {
    let corrupted = |reason: &str| VaultError::Corrupted {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut reader = ArmoredReader::new(armored.trim_ascii_start());
    let mut header = Vec::new();
    let mut chunk = [0u8; 1024];
    while !header.windows(5).any(|w| w == b"\n--- ") {
        if header.len() > MAX_HEADER {
            return Err(corrupted("the age header is too long"));
        }
        let n = reader
            .read(&mut chunk)
            .map_err(|_| corrupted("the armor does not decode"))?;
        if n == 0 {
            return Err(corrupted("the age header is cut short"));
        }
        header.extend_from_slice(&chunk[..n]);
    }
    let mut lines = header.split(|b| *b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
        return Err(corrupted("not an age v1 file"));
    }
    let mut stanzas = 0;
    let mut scrypt = None;
    for line in lines {
        if line.starts_with(b"--- ") {
            break;
        }
        let Some(args) = line.strip_prefix(b"-> ") else {
            continue;
        };
        let mut words = args.split(|b| *b == b' ');
        let tag = words.next().unwrap_or_default();
        // age adds a random `...-grease` stanza to some headers, so parsers stay tolerant of
        // unknown stanzas; it seals nothing.
        if tag.ends_with(b"-grease") {
            continue;
        }
        stanzas += 1;
        if tag == b"scrypt" {
            let log_n = words
                .nth(1)
                .and_then(|w| std::str::from_utf8(w).ok())
                .and_then(|w| w.parse::<u8>().ok())
                .ok_or_else(|| corrupted("the scrypt stanza is invalid"))?;
            scrypt = Some(log_n);
        }
    }
    match (scrypt, stanzas) {
        (Some(log_n), 1) => Ok(Sealed::Passphrase { log_n }),
        (Some(_), _) => Err(corrupted("a scrypt stanza must be the only one")),
        (None, 0) => Err(corrupted("the age header has no recipient")),
        (None, stanzas) => Ok(Sealed::Recipients { stanzas }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::key::{Passphrase, VaultKey};

    #[test]
    fn tells_passphrase_from_recipients_and_counts_them() {
        crate::vault::set_scrypt_work_factor_for_tests(3);
        let p = crate::vault::encrypt(b"a: 1\n", &VaultKey::Passphrase(Passphrase::new("pw")))
            .expect("encrypt");
        assert_eq!(
            sealed_to(Path::new("v"), p.as_bytes()).expect("header"),
            Sealed::Passphrase { log_n: 3 }
        );
        let ids = [
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        ];
        let r = crate::vault::encrypt_to(b"a: 1\n", &[ids[0].to_public(), ids[1].to_public()])
            .expect("encrypt");
        assert_eq!(
            sealed_to(Path::new("v"), r.as_bytes()).expect("header"),
            Sealed::Recipients { stanzas: 2 }
        );
        let err = sealed_to(
            Path::new("v.yml"),
            b"-----BEGIN AGE ENCRYPTED FILE-----\nnope\n",
        )
        .expect_err("damaged");
        assert!(
            err.to_string()
                .starts_with("`v.yml` is truncated or corrupted"),
            "{err}"
        );
    }
}
