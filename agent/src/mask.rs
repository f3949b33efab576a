//! Masking of secrets in everything the agent sends back.
//!
//! Every message, diff, debug output and registered output passes through a [`Masker`]
//! built from the request's secrets before it leaves the agent, so vault values and URL
//! passwords never reach the controller's terminal, logs or journal.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// The password part of `scheme://user:password@host`; a password holding an unencoded
/// `@` is masked up to the last `@` before the host.
static URL_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^\s/]+)@").ok()
});

/// Replaces secrets (and URL passwords) with [`MASK`].
///
/// Every non-empty secret is masked, however short: a one-character secret masks that
/// character everywhere, which over-masks but never leaks. Longer secrets are matched
/// first, so a secret that contains another is masked whole.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// One alternation of all secrets, longest first; `None` when there are none (or,
    /// for absurdly many secrets, when the pattern is too big: then `literals` is used).
    regex: Option<Regex>,
    /// The secrets, longest first.
    literals: Vec<String>,
}

impl Masker {
    /// Builds a masker for these secrets (empty strings are ignored).
    pub fn new(secrets: &[String]) -> Self {
        let mut list: Vec<&str> = secrets
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        list.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        list.dedup();
        let regex = if list.is_empty() {
            None
        } else {
            let pattern = list
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|");
            regex::RegexBuilder::new(&pattern)
                .size_limit(256 << 20)
                .build()
                .ok()
        };
        Masker {
            regex,
            literals: list.into_iter().map(str::to_owned).collect(),
        }
    }

    /// Returns `s` with every secret and every URL password replaced by [`MASK`].
    pub fn mask<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(s);
        match &self.regex {
            Some(re) => {
                if re.is_match(&out) {
                    out = Cow::Owned(re.replace_all(&out, MASK).into_owned());
                }
            }
            None => {
                for secret in &self.literals {
                    if out.contains(secret.as_str()) {
                        out = Cow::Owned(out.replace(secret.as_str(), MASK));
                    }
                }
            }
        }
        if let Some(re) = URL_PASSWORD.as_ref()
            && re.is_match(&out)
        {
            let replaced = re
                .replace_all(&out, |caps: &regex::Captures<'_>| {
                    let head = caps.name("head").map_or("", |m| m.as_str());
                    let pw = caps.name("pw").map_or("", |m| m.as_str());
                    if pw == MASK {
                        format!("{head}{pw}@")
                    } else {
                        format!("{head}{MASK}@")
                    }
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
        out
    }

    /// Masks every string (keys included) inside a JSON value.
    pub fn mask_value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.mask(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.mask_value(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.mask(k).into_owned(), self.mask_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(secrets: &[&str]) -> Masker {
        Masker::new(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn masks_every_occurrence() {
        let m = masker(&["hunter22"]);
        assert_eq!(m.mask("a hunter22 b hunter22"), "a ******** b ********");
    }

    #[test]
    fn longest_secret_first() {
        let m = masker(&["abcd", "abcdefgh"]);
        assert_eq!(m.mask("x abcdefgh y abcd"), "x ******** y ********");
    }

    #[test]
    fn untouched_text_is_borrowed() {
        let m = masker(&["secret"]);
        assert!(matches!(m.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_secret_is_ignored() {
        let m = masker(&[""]);
        assert_eq!(m.mask("abc"), "abc");
    }

    #[test]
    fn url_password_is_masked() {
        let m = masker(&[]);
        assert_eq!(
            m.mask("DATABASE_URL=postgres://app:s3cr%40t@akira-db-01:5432/akira"),
            "DATABASE_URL=postgres://app:********@akira-db-01:5432/akira"
        );
        assert_eq!(
            m.mask("http://example.com:8080/x"),
            "http://example.com:8080/x"
        );
        assert_eq!(
            m.mask("redis://default:p@ss@cache:6379 and https://u:pw@h/x?mail=a@b.c"),
            "redis://default:********@cache:6379 and https://u:********@h/x?mail=a@b.c"
        );
    }

    #[test]
    fn mask_value_recurses() {
        let m = masker(&["pw1234"]);
        let v = serde_json::json!({"a": ["pw1234", 1], "pw1234": {"b": "x pw1234"}});
        assert_eq!(
            m.mask_value(&v),
            serde_json::json!({"a": ["********", 1], "********": {"b": "x ********"}})
        );
    }
}
