//! Which Debian mirror the root filesystem is built from: the one this machine's apt
//! already uses, so the test bed needs no address of its own.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

/// Environment variable naming the Debian mirror explicitly.
pub const MIRROR_ENV: &str = "DR_TESTBED_DEBIAN_MIRROR";

/// `$DR_TESTBED_DEBIAN_MIRROR`, else the first apt source of this machine that
/// carries Debian bookworm's `main`.
pub fn debian_mirror() -> Result<String> {
    if let Ok(uri) = std::env::var(MIRROR_ENV)
        && !uri.trim().is_empty()
    {
        return Ok(uri.trim().to_owned());
    }
    let mut texts = Vec::new();
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(text);
    }
    let dir = Path::new("/etc/apt/sources.list.d");
    if let Ok(entries) = fs::read_dir(dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if let Ok(text) = fs::read_to_string(&path) {
                texts.push(text);
            }
        }
    }
    texts
        .iter()
        .find_map(|text| find_bookworm(text))
        .ok_or(Error::NoDebianMirror)
}

/// The URI of the first source in `text` (one-line `deb` format or deb822
/// `.sources` stanzas) whose suites include `bookworm` and components `main`.
fn find_bookworm(text: &str) -> Option<String> {
    // One-line format: deb [options] URI SUITE COMPONENTS...
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut words = rest.split_whitespace().peekable();
        if words.peek().is_some_and(|w| w.starts_with('[')) {
            for word in words.by_ref() {
                if word.ends_with(']') {
                    break;
                }
            }
        }
        let words: Vec<&str> = words.collect();
        if let [uri, "bookworm", components @ ..] = words.as_slice()
            && components.contains(&"main")
        {
            return Some((*uri).to_owned());
        }
    }
    // deb822 format: stanzas separated by blank lines.
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let (Some(types), Some(uris), Some(suites), Some(components)) = (
            field("Types"),
            field("URIs"),
            field("Suites"),
            field("Components"),
        ) else {
            continue;
        };
        if types.split_whitespace().any(|t| t == "deb")
            && suites.split_whitespace().any(|s| s == "bookworm")
            && components.split_whitespace().any(|c| c == "main")
        {
            return uris.split_whitespace().next().map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deb822_sources() {
        let text = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n\
                    Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n";
        assert_eq!(
            find_bookworm(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn reads_one_line_sources_and_skips_other_suites() {
        let text = "deb http://other.example/apt cloud-sdk main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n";
        assert_eq!(
            find_bookworm(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn no_bookworm_no_mirror() {
        assert_eq!(find_bookworm("deb http://x.example/ nodistro main\n"), None);
    }
}
