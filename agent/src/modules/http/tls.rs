//! TLS for `https://` URLs, as Ansible's `validate_certs`, `ca_path`, `client_cert` and
//! `client_key` define it: the host's CA store by default, only the CAs of `ca_path` when
//! given, no verification at all with `validate_certs: false`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig, TlsProvider};

/// The TLS options of a task (Ansible's `url_argument_spec` names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::modules) struct TlsOptions {
    /// Verify the server's certificate (Ansible's default: yes).
    pub validate_certs: bool,
    /// A PEM file of the CAs to trust instead of the host's store.
    pub ca_path: Option<String>,
    /// A PEM file with the client certificate chain (and maybe its key).
    pub client_cert: Option<String>,
    /// A PEM file with the client's private key.
    pub client_key: Option<String>,
    /// `SSL_CERT_FILE` of the task's `environment:`: trusted besides the host's store, as
    /// Python's `ssl` (and so Ansible's modules) trusts it.
    pub env_cert_file: Option<String>,
    /// `ciphers`: the only TLS 1.2 suites offered (OpenSSL names, checked by
    /// [`super::ciphers::names`]); `None` offers all.
    pub ciphers: Option<Vec<String>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            validate_certs: true,
            ca_path: None,
            client_cert: None,
            client_key: None,
            env_cert_file: None,
            ciphers: None,
        }
    }
}

/// Why the TLS set-up failed (before any connection).
#[derive(Debug, thiserror::Error)]
pub(in crate::modules) enum TlsSetupError {
    /// A file could not be read.
    #[error("`{option}`: cannot read `{path}`: {why}")]
    Read {
        /// `ca_path`, `client_cert` or `client_key`.
        option: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        why: String,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("`{option}`: `{path}` {why}")]
    Content {
        /// `ca_path`, `client_cert` or `client_key`.
        option: &'static str,
        /// The file.
        path: String,
        /// What is missing or wrong.
        why: String,
    },
    /// The host's CA store has no certificate.
    #[error(
        "no CA certificates found in the host's store (SSL_CERT_FILE, /etc/ssl/certs, \
         /etc/pki/tls/certs...): install the `ca-certificates` package or give `ca_path`"
    )]
    NoSystemRoots,
}

impl TlsOptions {
    /// The ureq TLS configuration for these options: reads `ca_path`, the client
    /// certificate and key, or the host's CA store.
    pub fn config(&self) -> Result<TlsConfig, TlsSetupError> {
        let provider = rustls::crypto::ring::default_provider();
        let provider = Arc::new(match &self.ciphers {
            Some(names) => super::ciphers::restrict(provider, names),
            None => provider,
        });
        let mut builder = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider);
        builder = if !self.validate_certs {
            builder
                .disable_verification(true)
                .root_certs(RootCerts::Specific(Arc::new(Vec::new())))
        } else if let Some(path) = &self.ca_path {
            // As Ansible: a `ca_path` is used alone, not added to the host's store.
            let certs = certificates("ca_path", path, &read("ca_path", path)?)?;
            builder.root_certs(RootCerts::Specific(Arc::new(certs)))
        } else if let Some(path) = &self.env_cert_file {
            let mut certs = certificates("SSL_CERT_FILE", path, &read("SSL_CERT_FILE", path)?)?;
            if let Ok(system) = system_roots() {
                certs.extend(system.iter().cloned());
            }
            builder.root_certs(RootCerts::Specific(Arc::new(certs)))
        } else {
            builder.root_certs(RootCerts::Specific(system_roots()?))
        };
        if let Some(cert) = self.client_cert()? {
            builder = builder.client_cert(Some(cert));
        } else if let Some(key) = &self.client_key {
            return Err(TlsSetupError::Content {
                option: "client_key",
                path: key.clone(),
                why: "is given without `client_cert`".into(),
            });
        }
        Ok(builder.build())
    }

    /// The client certificate chain and key, from `client_cert` (and `client_key`).
    fn client_cert(&self) -> Result<Option<ClientCert>, TlsSetupError> {
        let Some(cert_path) = &self.client_cert else {
            return Ok(None);
        };
        let pem = read("client_cert", cert_path)?;
        let chain = certificates("client_cert", cert_path, &pem)?;
        let (key_option, key_path, key_pem) = match &self.client_key {
            Some(key_path) => ("client_key", key_path, read("client_key", key_path)?),
            None => ("client_cert", cert_path, pem.clone()),
        };
        let key = private_key(key_option, key_path, &key_pem).map_err(|e| match key_option {
            "client_cert" => TlsSetupError::Content {
                option: "client_cert",
                path: cert_path.clone(),
                why: "holds no private key: give it with `client_key`".into(),
            },
            _ => e,
        })?;
        check_client_cert(&chain, &key_pem, cert_path)?;
        Ok(Some(ClientCert::new_with_certs(&chain, key)))
    }
}

/// The host's CA certificates, read once per process (`SSL_CERT_FILE`/`SSL_CERT_DIR`
/// first, then the distribution's bundle).
fn system_roots() -> Result<Arc<Vec<Certificate<'static>>>, TlsSetupError> {
    static ROOTS: OnceLock<Arc<Vec<Certificate<'static>>>> = OnceLock::new();
    if let Some(roots) = ROOTS.get() {
        return Ok(roots.clone());
    }
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<Certificate<'static>> = found
        .certs
        .into_iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        return Err(TlsSetupError::NoSystemRoots);
    }
    Ok(ROOTS.get_or_init(|| Arc::new(certs)).clone())
}

fn read(option: &'static str, path: &str) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(Path::new(path)).map_err(|e| TlsSetupError::Read {
        option,
        path: path.to_owned(),
        why: e.to_string(),
    })
}

/// Every certificate of a PEM file; none is an error.
fn certificates(
    option: &'static str,
    path: &str,
    pem: &[u8],
) -> Result<Vec<Certificate<'static>>, TlsSetupError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(TlsSetupError::Content {
                    option,
                    path: path.to_owned(),
                    why: format!("is not valid PEM: {e}"),
                });
            }
        }
    }
    if certs.is_empty() {
        return Err(TlsSetupError::Content {
            option,
            path: path.to_owned(),
            why: "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn private_key(
    option: &'static str,
    path: &str,
    pem: &[u8],
) -> Result<PrivateKey<'static>, TlsSetupError> {
    for item in ureq::tls::parse_pem(pem) {
        if let Ok(PemItem::PrivateKey(k)) = item {
            return Ok(k);
        }
    }
    Err(TlsSetupError::Content {
        option,
        path: path.to_owned(),
        why: "holds no PEM private key".into(),
    })
}

/// Refuses a key that does not fit its certificate (or a key type rustls cannot sign
/// with) here, with a message: ureq would panic on it when connecting.
fn check_client_cert(
    chain: &[Certificate<'static>],
    key_pem: &[u8],
    path: &str,
) -> Result<(), TlsSetupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |why: String| TlsSetupError::Content {
        option: "client_cert",
        path: path.to_owned(),
        why: format!("cannot be used with its key: {why}"),
    };
    let chain: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(chain, key)
        .map_err(|e| bad(e.to_string()))?;
    Ok(())
}
