//! HTTP Digest authentication (RFC 7616 with MD5, as Python's `HTTPDigestAuthHandler`
//! answers a challenge): the `Authorization` header for a `WWW-Authenticate: Digest ...`
//! challenge.

use md5::Digest as _;

/// The parameters of a Digest challenge.
#[derive(Debug, Default, PartialEq, Eq)]
pub(in crate::modules) struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    qop: Option<String>,
    algorithm: Option<String>,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` value; `None` unless it is a Digest challenge with a
    /// nonce and an algorithm this answers (MD5).
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, rest) = header.trim().split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut c = Challenge::default();
        for (key, value) in params(rest) {
            match key.to_ascii_lowercase().as_str() {
                "realm" => c.realm = value,
                "nonce" => c.nonce = value,
                "opaque" => c.opaque = Some(value),
                "qop" => c.qop = Some(value),
                "algorithm" => c.algorithm = Some(value),
                _ => {}
            }
        }
        let md5 = c
            .algorithm
            .as_deref()
            .is_none_or(|a| a.eq_ignore_ascii_case("md5"));
        (!c.nonce.is_empty() && md5).then_some(c)
    }

    /// The `Authorization` value answering this challenge for `method` on `uri` (the
    /// request target: path and query), with client nonce `cnonce`.
    pub fn answer(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let h = |s: String| hex::encode(md5::Md5::digest(s.as_bytes()));
        let ha1 = h(format!("{user}:{}:{password}", self.realm));
        let ha2 = h(format!("{method}:{uri}"));
        let auth_qop = self
            .qop
            .as_deref()
            .is_some_and(|q| q.split(',').any(|q| q.trim() == "auth"));
        let nc = "00000001";
        let response = if auth_qop {
            h(format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            h(format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut out = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\"",
            self.realm, self.nonce
        );
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque=\"{o}\""));
        }
        if let Some(a) = &self.algorithm {
            out.push_str(&format!(", algorithm=\"{a}\""));
        }
        if auth_qop {
            out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
        }
        out
    }
}

/// `key=value` and `key="quoted, value"` pairs, comma-separated.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                value.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// A fresh client nonce.
pub(in crate::modules) fn cnonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hex::encode(&md5::Md5::digest(format!("{t}:{}", std::process::id()).as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_rfc_2617s_example() {
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("a digest challenge");
        let a = c.answer(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
        );
        assert!(
            a.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{a}"
        );
        assert!(
            a.contains("qop=auth, nc=00000001, cnonce=\"0a4f113b\""),
            "{a}"
        );
        assert!(
            a.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
            "{a}"
        );
        assert_eq!(Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(
            Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256"),
            None
        );
    }
}
