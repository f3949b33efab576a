//! The HTTP(S) client of `uri` and `get_url`: ureq over rustls (ring), one connection per
//! request, redirects followed here so each module decides which ones. TLS trusts the
//! host's CA store unless the task says otherwise ([`TlsOptions`]).

pub(super) mod ciphers;
pub(super) mod digest_auth;
pub(super) mod disposition;
pub(super) mod netrc;
pub(super) mod proxy;
#[cfg(test)]
pub(super) mod testserver;
mod tls;
mod transport;
mod url;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

pub(super) use tls::{TlsOptions, TlsSetupError};
pub(super) use url::{Scheme, Url, mask_url, result_url};

/// How many redirects are followed before the last 3xx response is returned: urllib's
/// `HTTPRedirectHandler.max_redirections`, which Ansible's modules go through.
const MAX_REDIRECTS: usize = 10;

/// Why a request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// The URL cannot be used.
    #[error("invalid URL `{url}`: {why}")]
    BadUrl {
        /// The URL, password masked.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// Name resolution or TCP connect failed.
    #[error("cannot connect to `{addr}`: {why}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The OS error.
        why: String,
    },
    /// The server's certificate is not trusted (Ansible's words, then rustls' reason).
    #[error(
        "Request failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {why} \
         (`{addr}`); give the CA that signed it with `ca_path`, or set `validate_certs: false` \
         to skip verification"
    )]
    Certificate {
        /// `host:port`.
        addr: String,
        /// What rustls found wrong.
        why: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake with `{addr}` failed: {why}")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        why: String,
    },
    /// The TLS options could not be set up (a CA or client certificate file).
    #[error(transparent)]
    TlsSetup(#[from] TlsSetupError),
    /// A `file://` URL's file cannot be read: urllib's `URLError` as Ansible shows it.
    #[error("Request failed: <urlopen error [Errno {errno}] {why}: '{path}'>")]
    File {
        /// The local path.
        path: String,
        /// The OS error number.
        errno: i32,
        /// The OS error's text (`No such file or directory`).
        why: String,
    },
    /// The exchange broke off or the response is not HTTP.
    #[error("request to `{addr}` failed: {why}")]
    Exchange {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        why: String,
    },
}

/// One request.
pub(super) struct Request<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// Where to.
    pub url: &'a Url,
    /// Extra headers (Host and Content-Length are set here).
    pub headers: &'a [(String, String)],
    /// Names (any case) of `headers` sent with the first request only, not after a
    /// redirect (Ansible's `unredirected_headers`).
    pub unredirected: &'a [String],
    /// The body, if any.
    pub body: Option<&'a [u8]>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// Certificate verification and client certificate.
    pub tls: &'a TlsOptions,
    /// A proxy or a Unix socket to go through.
    pub route: &'a Route,
}

/// How a request reaches the server: straight to it by default.
#[derive(Debug, Clone, Default)]
pub(super) struct Route {
    /// The proxy's URL (`http://proxy:3128`), chosen from the environment ([`proxy`]).
    pub proxy: Option<String>,
    /// A Unix socket to talk HTTP over instead of TCP (Ansible's `unix_socket`).
    pub unix_socket: Option<PathBuf>,
}

/// No proxy, no socket.
pub(super) static DIRECT: Route = Route {
    proxy: None,
    unix_socket: None,
};

/// A response whose body has not been read yet.
pub(super) struct Exchange {
    /// Status code.
    pub status: u16,
    /// Reason phrase (the standard one for the status).
    pub reason: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The URL that answered (after redirects).
    pub url: Url,
    body: ureq::Body,
}

/// A response's body, read whole.
#[derive(Debug, Clone)]
pub(super) struct Response {
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Exchange {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }

    /// Reads the whole body.
    pub fn read_body(mut self) -> Result<Response, HttpError> {
        let addr = self.url.addr();
        let body = self
            .body
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| classify(e, &addr))?;
        Ok(Response { body })
    }

    /// Streams the body into `out` and returns its length.
    pub fn copy_body(mut self, out: &mut dyn Write) -> Result<u64, HttpError> {
        let addr = self.url.addr();
        let mut reader = self.body.with_config().limit(u64::MAX).reader();
        std::io::copy(&mut reader, out).map_err(|e| classify(ureq::Error::from(e), &addr))
    }
}

fn first<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sends `req`, following redirects while `follow(method, status)` says so (303 turns the
/// method into GET and drops the body). Returns the final response, body unread, and
/// whether a redirect was followed.
pub(super) fn open_following(
    req: &Request<'_>,
    follow: &dyn Fn(&str, u16) -> bool,
) -> Result<(Exchange, bool), HttpError> {
    let mut url = req.url.clone();
    let mut method = req.method.to_owned();
    let mut redirected = false;
    let mut hops = 0;
    let redirected_headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| !req.unredirected.iter().any(|u| u.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    loop {
        let this = Request {
            method: &method,
            url: &url,
            headers: if redirected {
                &redirected_headers
            } else {
                req.headers
            },
            body: req.body.filter(|_| method == req.method),
            ..*req
        };
        let exchange = open(&this)?;
        let is_redirect = matches!(exchange.status, 301 | 302 | 303 | 307 | 308);
        if !is_redirect || hops >= MAX_REDIRECTS || !follow(&method, exchange.status) {
            return Ok((exchange, redirected));
        }
        let Some(next) = exchange.header("location").and_then(|l| url.join(l)) else {
            return Ok((exchange, redirected));
        };
        if exchange.status == 303 {
            method = "GET".into();
        }
        url = next;
        redirected = true;
        hops += 1;
    }
}

/// A plain `GET` of `url` (no headers, no body), following redirects; the response's body
/// unread.
pub(super) fn get(url: &Url, tls: &TlsOptions, timeout: Duration) -> Result<Exchange, HttpError> {
    let req = Request {
        method: "GET",
        url,
        headers: &[],
        unredirected: &[],
        body: None,
        timeout,
        tls,
        route: &DIRECT,
    };
    open_following(&req, &|m, _| m == "GET").map(|(exchange, _)| exchange)
}

/// Sends one request and returns once the response's headers are read.
pub(super) fn open(req: &Request<'_>) -> Result<Exchange, HttpError> {
    if req.url.scheme == Scheme::File {
        return open_file(req.url);
    }
    let addr = req.url.addr();
    let exchange_err = |why: String| HttpError::Exchange {
        addr: addr.clone(),
        why,
    };
    let tls = match req.url.scheme {
        Scheme::Https => req.tls.config()?,
        // Never used for http://, but ureq's default (bundled roots) must not be chosen.
        Scheme::Http | Scheme::File => TlsOptions {
            validate_certs: false,
            ..TlsOptions::default()
        }
        .config()?,
    };
    let proxy = match &req.route.proxy {
        None => None,
        Some(p) => Some(ureq::Proxy::new(p).map_err(|e| HttpError::Connect {
            addr: addr.clone(),
            why: format!("proxy `{}`: {e}", mask_url(p)),
        })?),
    };
    // `http://` through a proxy: the request goes to the proxy in absolute form, as
    // urllib sends it; `https://` is tunnelled with CONNECT by ureq.
    let (proxy, forward) = match proxy {
        Some(p) if req.url.scheme == Scheme::Http => {
            let prefix = req.url.request_uri();
            let prefix = prefix[..prefix.len() - req.url.target.len()].to_owned();
            (None, Some((p.uri().clone(), prefix)))
        }
        other => (other, None),
    };
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .user_agent("dr-agent")
        .proxy(proxy)
        .timeout_connect(Some(req.timeout))
        .timeout_per_read(Some(req.timeout))
        .timeout_per_write(Some(req.timeout))
        .tls_config(tls)
        .build();
    let status_line = transport::StatusLine::default();
    let agent = ureq::Agent::with_parts(
        config,
        transport::connector(
            req.route.unix_socket.clone(),
            req.timeout,
            status_line.clone(),
            forward.as_ref().map(|(_, prefix)| prefix.clone()),
        ),
        transport::ProxyResolver::new(forward.map(|(uri, _)| uri)),
    );
    let mut builder = ureq::http::Request::builder()
        .method(req.method)
        .uri(req.url.request_uri());
    for (k, v) in req.headers {
        if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            return Err(exchange_err(format!(
                "header `{k}` contains a line break or colon"
            )));
        }
        builder = builder.header(k.as_str(), v.as_str());
    }
    let sends_body = req.body.is_some() || matches!(req.method, "POST" | "PUT" | "PATCH");
    let response = if sends_body {
        let request = builder
            .body(req.body.unwrap_or_default())
            .map_err(|e| exchange_err(e.to_string()))?;
        agent.run(request)
    } else {
        let request = builder.body(()).map_err(|e| exchange_err(e.to_string()))?;
        agent.run(request)
    }
    .map_err(|e| classify(e, &addr))?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
            )
        })
        .collect();
    Ok(Exchange {
        status: status.as_u16(),
        reason: status_line
            .reason()
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned()),
        headers,
        url: req.url.clone(),
        body: response.into_body(),
    })
}

/// A `file://` URL answered as urllib's `FileHandler` answers it: the file as the body,
/// its length and mtime as `Content-Length` and `Last-Modified`; any method.
fn open_file(url: &Url) -> Result<Exchange, HttpError> {
    let path = url.file_path();
    let fail = |e: std::io::Error| {
        let text = e.to_string();
        HttpError::File {
            path: path.clone(),
            errno: e.raw_os_error().unwrap_or(0),
            why: text.split(" (os error").next().unwrap_or(&text).to_owned(),
        }
    };
    let file = std::fs::File::open(&path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if meta.is_dir() {
        return Err(fail(std::io::Error::from_raw_os_error(21)));
    }
    let mut headers = vec![("content-length".to_owned(), meta.len().to_string())];
    if let Ok(t) = meta.modified() {
        let t = chrono::DateTime::<chrono::Utc>::from(t);
        headers.push((
            "last-modified".to_owned(),
            t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ));
    }
    Ok(Exchange {
        status: 200,
        reason: "OK".into(),
        headers,
        url: url.clone(),
        body: ureq::Body::builder().reader(file),
    })
}

/// Sorts a ureq error into what the operator needs to know.
fn classify(e: ureq::Error, addr: &str) -> HttpError {
    let addr = addr.to_owned();
    let rustls_error = match &e {
        ureq::Error::Rustls(r) => Some(r.clone()),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned(),
        _ => None,
    };
    if let Some(r) = rustls_error {
        return match r {
            rustls::Error::InvalidCertificate(why) => HttpError::Certificate {
                addr,
                why: certificate_reason(&why),
            },
            other => HttpError::Handshake {
                addr,
                why: other.to_string(),
            },
        };
    }
    match e {
        ureq::Error::HostNotFound => HttpError::Connect {
            addr,
            why: "the host name does not resolve".into(),
        },
        ureq::Error::ConnectionFailed => HttpError::Connect {
            addr,
            why: "connection failed".into(),
        },
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            HttpError::Connect {
                addr,
                why: io.to_string(),
            }
        }
        ureq::Error::Timeout(t) => HttpError::Exchange {
            addr,
            why: format!("timed out ({t})"),
        },
        other => HttpError::Exchange {
            addr,
            why: other.to_string(),
        },
    }
}

/// rustls' certificate error in OpenSSL's words where they exist.
fn certificate_reason(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "unable to get local issuer certificate".into(),
        C::Expired | C::ExpiredContext { .. } => "certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate is not yet valid".into(),
        // OpenSSL's words as Python's `ssl` gives them, then the names the certificate has.
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            let what = match expected {
                rustls::pki_types::ServerName::IpAddress(_) => "IP address",
                _ => "Hostname",
            };
            format!(
                "{what} mismatch, certificate is not valid for '{}'. (it is for: {})",
                expected.to_str(),
                presented.join(", ")
            )
        }
        C::NotValidForName => "Hostname mismatch".into(),
        C::Revoked => "certificate revoked".into(),
        other => rustls::Error::InvalidCertificate(other.clone()).to_string(),
    }
}
