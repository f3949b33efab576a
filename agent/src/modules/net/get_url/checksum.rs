//! `get_url`'s `checksum`: `<algorithm>:<hex digest>` or `<algorithm>:<URL of a checksum
//! file>` (GNU `sha256sum` or BSD `SHA256 (name) = ...` lines), as Ansible reads them.

use std::sync::LazyLock;

use regex::Regex;

use super::request::{Fetched, Fetcher};
use crate::modules::digest::Algorithm;
use crate::modules::http::Url;

/// A parsed `checksum`.
#[derive(Debug)]
pub(super) struct Checksum {
    /// The hash algorithm.
    pub algorithm: Algorithm,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// The digest itself, normalised (lower-case hex).
    Hex(String),
    /// Where the checksum file is.
    File(Url),
}

impl Checksum {
    /// Parses `algorithm:digest` or `algorithm:url`.
    pub fn parse(s: &str) -> Result<Checksum, String> {
        let (name, rest) = s.split_once(':').ok_or_else(|| {
            "The checksum parameter has to be in format <algorithm>:<checksum>".to_owned()
        })?;
        let algorithm = Algorithm::named(name.trim()).ok_or_else(|| {
            format!(
                "unsupported checksum algorithm `{name}`; available: md5, sha1, sha224, \
                 sha256, sha384, sha512, sha3_224, sha3_256, sha3_384, sha3_512"
            )
        })?;
        let scheme = rest.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let source = match scheme.as_deref() {
            Some("http" | "https" | "file") => {
                Source::File(Url::parse(rest).map_err(|e| format!("`checksum`: {e}"))?)
            }
            Some("ftp") => {
                return Err(
                    "`checksum`: checksum files are fetched over http://, https:// and file:// only"
                        .into(),
                );
            }
            _ => Source::Hex(normalise(rest)?),
        };
        Ok(Checksum { algorithm, source })
    }

    /// The expected digest: the one given, or the one the checksum file lists for the
    /// download's file name (fetched now, in check mode too, as Ansible).
    pub fn expected(&self, fetcher: &Fetcher) -> Result<String, String> {
        let url = match &self.source {
            Source::Hex(hex) => return Ok(hex.clone()),
            Source::File(url) => url,
        };
        let shown = crate::modules::http::mask_url(&url.request_uri());
        let body = match fetcher.fetch("GET", url, false, None) {
            Fetched::Body(ex) => ex.read_body().map_err(|e| e.to_string())?.body,
            Fetched::NotModified(msg) => return Err(format!("{msg} (checksum file `{shown}`)")),
            Fetched::Failed { msg, response, .. } => {
                return Err(match response {
                    Some(r) => format!("{msg}: {r} (checksum file `{shown}`)"),
                    None => format!("{msg} (checksum file `{shown}`)"),
                });
            }
        };
        let text = String::from_utf8_lossy(&body);
        let lines: Vec<&str> = text.lines().collect();
        let filename = fetcher.url.file_name();
        let found = digest_lines(&filename, &lines)
            .into_iter()
            .find(|(_, name)| *name == filename)
            .map(|(digest, _)| digest);
        match found {
            Some(d) => normalise(&d),
            None => Err(format!(
                "Unable to find a checksum for file '{filename}' in '{shown}'"
            )),
        }
    }
}

/// Removes non-word characters (a zero-width space pasted with the digest), lower-cases,
/// and requires hex, as Ansible.
fn normalise(digest: &str) -> Result<String, String> {
    let cleaned: String = digest
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_lowercase();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".into());
    }
    Ok(cleaned)
}

/// `(digest, file name)` pairs of a checksum file; a file of one word is that digest for
/// `filename`.
fn digest_lines(filename: &str, lines: &[&str]) -> Vec<(String, String)> {
    static BSD: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$").ok());
    static GNU: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^(?P<digest>[\w.]+)\s+(\*|\./|\.)?(?P<path>.+)$").ok());
    if let [only] = lines
        && only.split_whitespace().count() == 1
    {
        return vec![(only.to_string(), filename.to_owned())];
    }
    let mut out = Vec::new();
    for line in lines {
        if let Some(c) = BSD.as_ref().and_then(|r| r.captures(line)) {
            out.push((c["digest"].to_owned(), c["path"].to_owned()));
        } else if let Some(c) = GNU.as_ref().and_then(|r| r.captures(line)) {
            let path = c["path"].trim_start_matches(['.', '/']).to_owned();
            out.push((c["digest"].to_owned(), path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let c = Checksum::parse("SHA256:AB\u{200b}CD").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert!(matches!(c.source, Source::Hex(ref h) if h == "abcd"));
        assert_eq!(
            Checksum::parse("nocolon").err().as_deref(),
            Some("The checksum parameter has to be in format <algorithm>:<checksum>")
        );
        assert_eq!(
            Checksum::parse("md5:xyz").err().as_deref(),
            Some("The checksum format is invalid")
        );
        assert!(Checksum::parse("crc32:00").is_err());
        assert!(matches!(
            Checksum::parse("sha1:https://h/SHA1SUMS").map(|c| c.source),
            Ok(Source::File(_))
        ));
    }

    #[test]
    fn reads_gnu_bsd_and_bare_checksum_files() {
        let gnu = ["abc1  other.txt", "def2 *./file.tar.gz"];
        assert_eq!(
            digest_lines("file.tar.gz", &gnu)[1],
            ("def2".to_owned(), "file.tar.gz".to_owned())
        );
        let bsd = ["SHA256 (file.tar.gz) = 0f0f"];
        assert_eq!(
            digest_lines("file.tar.gz", &bsd),
            [("0f0f".to_owned(), "file.tar.gz".to_owned())]
        );
        assert_eq!(
            digest_lines("x", &["beef"]),
            [("beef".to_owned(), "x".to_owned())]
        );
    }
}
