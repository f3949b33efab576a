//! `ciphers`: the TLS 1.2 cipher suites a request may use, by their OpenSSL names, as
//! Ansible hands them to `SSLContext.set_ciphers`. As with OpenSSL, the list does not touch
//! TLS 1.3, whose suites are always offered. Only the suites rustls implements can be
//! named; any other name is refused rather than silently dropped.

use rustls::CipherSuite as C;
use rustls::SupportedCipherSuite;
use rustls::crypto::CryptoProvider;
use serde_json::Value as Json;

/// OpenSSL's names for the TLS 1.2 suites rustls (ring) implements.
const TLS12: &[(&str, C)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// The names of a `ciphers` argument: a list of strings or one string, each split on `,`
/// (Ansible's `type='list'`) and `:` (OpenSSL's separator, which Ansible joins them with).
/// `None` when it names nothing: no restriction, as Ansible's `if ciphers:`.
pub(in crate::modules) fn names(v: Option<&Json>) -> Result<Option<Vec<String>>, String> {
    let items: Vec<String> = match v {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| match x {
                Json::String(s) => Ok(s.clone()),
                other => Err(format!("`ciphers`: `{other}` is not a cipher name")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "`ciphers`: `{other}` is not a list of cipher names"
            ));
        }
    };
    let names: Vec<String> = items
        .iter()
        .flat_map(|s| s.split([',', ':']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    for n in &names {
        suite(n)?;
    }
    Ok(Some(names))
}

fn suite(name: &str) -> Result<C, String> {
    TLS12
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            let known: Vec<&str> = TLS12.iter().map(|(n, _)| *n).collect();
            format!(
                "`ciphers`: `{name}` is not a TLS 1.2 cipher suite dr's TLS (rustls) has; it has {}",
                known.join(", ")
            )
        })
}

/// `provider` offering only the named TLS 1.2 suites (and every TLS 1.3 one).
pub(super) fn restrict(mut provider: CryptoProvider, names: &[String]) -> CryptoProvider {
    let wanted: Vec<C> = names.iter().filter_map(|n| suite(n).ok()).collect();
    provider.cipher_suites.retain(|s| match s {
        SupportedCipherSuite::Tls13(_) => true,
        SupportedCipherSuite::Tls12(_) => wanted.contains(&s.suite()),
    });
    provider
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_split_as_ansible_and_openssl() {
        let n = |v: Json| names(Some(&v));
        assert_eq!(
            n(json!(
                "ECDHE-RSA-AES128-GCM-SHA256:ecdhe-ecdsa-aes256-gcm-sha384"
            )),
            Ok(Some(vec![
                "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
                "ecdhe-ecdsa-aes256-gcm-sha384".to_owned()
            ]))
        );
        assert_eq!(n(json!([])), Ok(None));
        assert_eq!(names(None), Ok(None));
        let err = n(json!(["ECDHE-RSA-AES128-SHA256"])).unwrap_err();
        assert!(
            err.starts_with("`ciphers`: `ECDHE-RSA-AES128-SHA256` is not a TLS 1.2 cipher suite"),
            "{err}"
        );
    }

    #[test]
    fn restriction_keeps_tls13() {
        let p = restrict(
            rustls::crypto::ring::default_provider(),
            &["ECDHE-RSA-AES128-GCM-SHA256".to_owned()],
        );
        let tls12: Vec<C> = p
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .map(|s| s.suite())
            .collect();
        assert_eq!(tls12, vec![C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]);
        assert!(
            p.cipher_suites
                .iter()
                .any(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
        );
    }
}
