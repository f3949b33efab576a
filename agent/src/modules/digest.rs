//! Hex digests of files and streams, with the algorithm names Ansible's modules take
//! (`stat`'s `checksum_algorithm`, `get_url`'s `checksum: sha256:...`).

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::Deserialize;
use sha2::Digest;

/// A hash algorithm by Ansible's name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Algorithm {
    /// MD5.
    Md5,
    /// SHA-1 (Ansible's default for `stat` and the `checksum_*` results).
    #[default]
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA3-224 (a `checksum` algorithm of `get_url`, not of `stat`).
    #[serde(skip)]
    Sha3_224,
    /// SHA3-256.
    #[serde(skip)]
    Sha3_256,
    /// SHA3-384.
    #[serde(skip)]
    Sha3_384,
    /// SHA3-512.
    #[serde(skip)]
    Sha3_512,
}

impl Algorithm {
    /// The algorithm called `name` (case-insensitive).
    pub fn named(name: &str) -> Option<Algorithm> {
        Some(match name.to_ascii_lowercase().as_str() {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            "sha3_224" => Algorithm::Sha3_224,
            "sha3_256" => Algorithm::Sha3_256,
            "sha3_384" => Algorithm::Sha3_384,
            "sha3_512" => Algorithm::Sha3_512,
            _ => return None,
        })
    }

    /// A running hash.
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            Algorithm::Md5 => Inner::Md5(md5::Md5::new()),
            Algorithm::Sha1 => Inner::Sha1(sha1::Sha1::new()),
            Algorithm::Sha224 => Inner::Sha224(sha2::Sha224::new()),
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => Inner::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            Algorithm::Sha3_224 => Inner::Sha3_224(sha3::Sha3_224::new()),
            Algorithm::Sha3_256 => Inner::Sha3_256(sha3::Sha3_256::new()),
            Algorithm::Sha3_384 => Inner::Sha3_384(sha3::Sha3_384::new()),
            Algorithm::Sha3_512 => Inner::Sha3_512(sha3::Sha3_512::new()),
        })
    }
}

/// A hash being computed.
pub(super) struct Hasher(Inner);

enum Inner {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_224(sha3::Sha3_224),
    Sha3_256(sha3::Sha3_256),
    Sha3_384(sha3::Sha3_384),
    Sha3_512(sha3::Sha3_512),
}

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Inner::Md5(h) => h.update(bytes),
            Inner::Sha1(h) => h.update(bytes),
            Inner::Sha224(h) => h.update(bytes),
            Inner::Sha256(h) => h.update(bytes),
            Inner::Sha384(h) => h.update(bytes),
            Inner::Sha512(h) => h.update(bytes),
            Inner::Sha3_224(h) => h.update(bytes),
            Inner::Sha3_256(h) => h.update(bytes),
            Inner::Sha3_384(h) => h.update(bytes),
            Inner::Sha3_512(h) => h.update(bytes),
        }
    }

    /// The lower-case hex digest.
    pub fn hex(self) -> String {
        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        match self.0 {
            Inner::Md5(h) => hex(&h.finalize()),
            Inner::Sha1(h) => hex(&h.finalize()),
            Inner::Sha224(h) => hex(&h.finalize()),
            Inner::Sha256(h) => hex(&h.finalize()),
            Inner::Sha384(h) => hex(&h.finalize()),
            Inner::Sha512(h) => hex(&h.finalize()),
            Inner::Sha3_224(h) => hex(&h.finalize()),
            Inner::Sha3_256(h) => hex(&h.finalize()),
            Inner::Sha3_384(h) => hex(&h.finalize()),
            Inner::Sha3_512(h) => hex(&h.finalize()),
        }
    }
}

/// The hex digest of the file at `path`, read in chunks.
pub(super) fn of_file(path: &Path, algorithm: Algorithm) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = algorithm.hasher();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_the_empty_input() {
        assert_eq!(
            Algorithm::Sha1.hasher().hex(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            Algorithm::Md5.hasher().hex(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            Algorithm::named("SHA256")
                .map(|a| a.hasher().hex())
                .as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(Algorithm::named("crc32"), None);
    }
}
