//! Real HTTP and HTTPS servers on 127.0.0.1 for the `uri` and `get_url` tests: a test CA
//! made with rcgen, a server certificate for `localhost` and `127.0.0.1`, a client
//! certificate, and a rustls server thread answering one request per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A request the server received.
#[derive(Debug, Clone)]
pub(in crate::modules) struct Seen {
    /// The request line (`POST /api HTTP/1.1`).
    pub line: String,
    /// `GET`, `HEAD`...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Seen {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status line, headers, body (Content-Length added).
pub(in crate::modules) fn reply(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// What the server answers to a request.
pub(in crate::modules) type Handler = Arc<dyn Fn(&Seen) -> Vec<u8> + Send + Sync>;

/// A running server.
pub(in crate::modules) struct Server {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub base: String,
    /// Every request received, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Serves plain HTTP.
    pub fn http(handler: Handler) -> Server {
        Server::start(None, handler)
    }

    /// Serves HTTPS with `tls`.
    pub fn https(tls: Arc<rustls::ServerConfig>, handler: Handler) -> Server {
        Server::start(Some(tls), handler)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        // Lives as long as the test process; each connection carries one request.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                match &tls {
                    None => serve(stream, &handler, &log),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                            continue;
                        };
                        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                        serve(&mut tls_stream, &handler, &log);
                        tls_stream.conn.send_close_notify();
                        let _ = tls_stream.flush();
                    }
                }
            }
        });
        Server {
            base: format!("{scheme}://127.0.0.1:{port}"),
            seen,
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn serve(mut stream: impl Read + Write, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut r = BufReader::new(&mut stream);
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        // A client that gave up during the TLS handshake (an untrusted certificate).
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = r.read_exact(&mut body);
    let mut parts = line.split(' ');
    let seen = Seen {
        method: parts.next().unwrap_or("").to_owned(),
        path: parts.next().unwrap_or("").to_owned(),
        line: line.trim().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
    };
    let answer = handler(&seen);
    if let Ok(mut l) = log.lock() {
        l.push(seen);
    }
    drop(r);
    let _ = stream.write_all(&answer);
    let _ = stream.flush();
}

/// A test CA, a server certificate it signed for `localhost` and `127.0.0.1`, a client
/// certificate it signed, and a second CA that signed nothing; PEM files in `dir`.
pub(in crate::modules) struct Pki {
    /// `ca.pem`: the CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// `other-ca.pem`: a CA that signed neither.
    pub other_ca: PathBuf,
    /// `client.pem`: the client certificate.
    pub client_cert: PathBuf,
    /// `client.key`: its key.
    pub client_key: PathBuf,
    /// `client-with-key.pem`: certificate and key in one file.
    pub client_combined: PathBuf,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_pem: String,
    ca_der: CertificateDer<'static>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    CertifiedIssuer::self_signed(params, key).unwrap_or_else(|e| panic!("{e}"))
}

impl Pki {
    /// Generates everything and writes the PEM files into `dir`.
    pub fn new(dir: &Path) -> Pki {
        let issuer = ca("dr test CA");
        let other = ca("dr other CA");
        let server_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .and_then(|p| p.signed_by(&server_key, &issuer))
            .unwrap_or_else(|e| panic!("{e}"));
        let client_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut client_params =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        client_params
            .distinguished_name
            .push(DnType::CommonName, "dr test client");
        let client = client_params
            .signed_by(&client_key, &issuer)
            .unwrap_or_else(|e| panic!("{e}"));
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            path
        };
        Pki {
            ca: write("ca.pem", &issuer.pem()),
            other_ca: write("other-ca.pem", &other.pem()),
            client_cert: write("client.pem", &client.pem()),
            client_key: write("client.key", &client_key.serialize_pem()),
            client_combined: write(
                "client-with-key.pem",
                &format!("{}{}", client.pem(), client_key.serialize_pem()),
            ),
            server_chain: vec![server.der().clone()],
            server_key_pem: server_key.serialize_pem(),
            ca_der: issuer.der().clone(),
        }
    }

    /// A server configuration presenting the server certificate; with `require_client`,
    /// clients must present a certificate the test CA signed.
    pub fn server_config(&self, require_client: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"));
        let builder = if require_client {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(self.ca_der.clone())
                .unwrap_or_else(|e| panic!("{e}"));
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), key)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }
}
