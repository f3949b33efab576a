//! `signed_by` given as a URL: as Ansible's `deb822_repository`, the host fetches the key
//! (in check mode too: it only reads) and keeps it as `/etc/apt/keyrings/<slug>.asc` (an
//! ASCII-armored key) or `.gpg`, mode 0644; the sources file names that path.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::modules::http::{self, TlsOptions, Url};

/// How long the download may stall (Ansible's `open_url` default).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The key file a URL's key is kept in, and what is to be done to it.
#[derive(Debug, Clone)]
pub(super) struct Key {
    /// `/etc/apt/keyrings/<slug>.asc` or `.gpg`.
    pub path: String,
    /// The key, when the file does not hold it yet.
    pub write: Option<Vec<u8>>,
    /// The file's mode is not 0644 (and the file is kept).
    pub chmod: bool,
}

/// Whether `signed_by` is a URL rather than a key, a fingerprint or a path.
pub(super) fn is_url(signed_by: &str) -> bool {
    signed_by.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// Fetches the key at `url` for the repository `slug`; `None` when the body is empty (the
/// URL is then written as it is, as Ansible does).
pub(super) fn fetch(url: &str, slug: &str, keyrings: &Path) -> Result<Option<Key>, String> {
    let failure = |why: String| format!("Could not fetch signed_by key: {why}");
    let parsed = Url::parse(url).map_err(|e| failure(e.to_string()))?;
    let exchange =
        http::get(&parsed, &TlsOptions::default(), TIMEOUT).map_err(|e| failure(e.to_string()))?;
    if exchange.status >= 400 {
        return Err(failure(format!(
            "HTTP Error {}: {}",
            exchange.status, exchange.reason
        )));
    }
    let body = exchange
        .read_body()
        .map_err(|e| failure(e.to_string()))?
        .body;
    if body.is_empty() {
        return Ok(None);
    }
    let armored = body.windows(ARMOR.len()).any(|w| w == ARMOR.as_bytes());
    let path = keyrings.join(format!("{slug}.{}", if armored { "asc" } else { "gpg" }));
    let held = std::fs::read(&path).ok();
    let same = held
        .as_deref()
        .is_some_and(|h| Sha256::digest(h) == Sha256::digest(&body));
    let mode = std::fs::metadata(&path).ok().map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    });
    Ok(Some(Key {
        path: path.display().to_string(),
        chmod: same && mode != Some(0o644),
        write: (!same).then_some(body),
    }))
}

const ARMOR: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_keys_and_paths() {
        assert!(is_url("https://download.docker.com/linux/debian/gpg"));
        assert!(is_url("http://127.0.0.1:8080/k.asc"));
        assert!(!is_url("/etc/apt/keyrings/docker.asc"));
        assert!(!is_url("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc"));
        assert!(!is_url("://x"));
    }

    #[test]
    fn a_key_is_fetched_kept_by_its_kind_and_not_rewritten() {
        use crate::modules::http::testserver::{Handler, Server, reply};
        let key =
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let handler: Handler = std::sync::Arc::new(move |_| reply("200 OK", &[], key));
        let server = Server::http(handler);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{}/gpg", server.base);
        let key = fetch(&url, "docker", dir.path()).unwrap().unwrap();
        assert_eq!(
            key.path,
            dir.path().join("docker.asc").display().to_string()
        );
        let body = key.write.clone().unwrap();
        std::fs::write(&key.path, &body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key.path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let again = fetch(&url, "docker", dir.path()).unwrap().unwrap();
        assert!(again.write.is_none() && again.chmod, "{again:?}");
    }
}
