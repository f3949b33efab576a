//! A small blocking HTTP/1.1 client for `uri`: plain `http://` only, one request per
//! connection. The agent stays synchronous and carries no TLS stack; an `https://` URL is a
//! clear error rather than a silent downgrade.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

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
    /// The exchange broke off or the response is not HTTP.
    #[error("request to `{addr}` failed: {why}")]
    Exchange {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        why: String,
    },
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Url {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
    /// `user:password` from the URL, if any.
    pub userinfo: Option<String>,
}

impl Url {
    /// Parses `http://[user[:pass]@]host[:port][/path][?query]`; the fragment is dropped.
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let bad = |why: &str| HttpError::BadUrl {
            url: mask_url(url),
            why: why.to_owned(),
        };
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(bad(
                "https is not supported by the agent's built-in HTTP client; check the service over http:// (e.g. on its local port) or run `curl` with `command`",
            ));
        }
        let Some(rest) = url.get(7..).filter(|_| lower.starts_with("http://")) else {
            return Err(bad("only http:// URLs are supported"));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, tail) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed `[` in host"))?;
            (h, tail.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None | Some("") => 80,
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        };
        Ok(Url {
            host: host.to_owned(),
            port,
            target,
            userinfo,
        })
    }

    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The URL with any password replaced by `********`.
pub(super) fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:********{}", &url[..scheme_end + 3], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// One request.
pub(super) struct Request<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// Where to.
    pub url: &'a Url,
    /// Extra headers (Host, Connection and Content-Length are set here).
    pub headers: &'a [(String, String)],
    /// The body, if any.
    pub body: Option<&'a [u8]>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
}

/// A response.
#[derive(Debug, Clone)]
pub(super) struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `req` and reads the whole response.
pub(super) fn send(req: &Request<'_>) -> Result<Response, HttpError> {
    let addr = req.url.addr();
    let fail = |why: String| HttpError::Exchange {
        addr: addr.clone(),
        why,
    };
    let stream =
        connect(&req.url.host, req.url.port, req.timeout).map_err(|why| HttpError::Connect {
            addr: addr.clone(),
            why,
        })?;
    let _ = stream.set_read_timeout(Some(req.timeout));
    let _ = stream.set_write_timeout(Some(req.timeout));
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: dr-agent\r\n",
        req.method,
        req.url.target,
        if req.url.port == 80 {
            req.url.host.clone()
        } else {
            addr.clone()
        }
    );
    let has = |name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (k, v) in req.headers {
        if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            return Err(fail(format!("header `{k}` contains a line break or colon")));
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if req.body.is_some() || matches!(req.method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!(
            "Content-Length: {}\r\n",
            req.body.map_or(0, <[u8]>::len)
        ));
    }
    head.push_str("\r\n");
    let mut w = &stream;
    w.write_all(head.as_bytes())
        .and_then(|()| w.write_all(req.body.unwrap_or_default()))
        .and_then(|()| w.flush())
        .map_err(|e| fail(e.to_string()))?;
    read_response(BufReader::new(&stream), req.method == "HEAD").map_err(fail)
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .collect();
    let mut last = format!("`{host}` resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout.max(Duration::from_millis(10))) {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn read_response(mut r: impl BufRead, head_only: bool) -> Result<Response, String> {
    let mut line = String::new();
    let (status, reason, headers) = loop {
        line.clear();
        read_line(&mut r, &mut line)?;
        let mut parts = line.trim_end().splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/") {
            return Err(format!("not an HTTP response: `{}`", line.trim_end()));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line `{}`", line.trim_end()))?;
        let reason = parts.next().unwrap_or("").to_owned();
        let headers = read_headers(&mut r)?;
        // Interim 1xx responses are followed by the real one.
        if !(100..200).contains(&status) || status == 101 {
            break (status, reason, headers);
        }
    };
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        // Nothing follows the headers.
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        body = read_chunked(&mut r)?;
    } else if let Some(len) = get("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length `{len}`"))?;
        body.resize(len, 0);
        r.read_exact(&mut body)
            .map_err(|e| format!("body shorter than its Content-Length: {e}"))?;
    } else {
        r.read_to_end(&mut body).map_err(|e| e.to_string())?;
    }
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
}

fn read_line(r: &mut impl BufRead, line: &mut String) -> Result<(), String> {
    let mut raw = Vec::new();
    let n = r.read_until(b'\n', &mut raw).map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("the server closed the connection without a complete response".into());
    }
    line.push_str(&String::from_utf8_lossy(&raw));
    Ok(())
}

fn read_headers(r: &mut impl BufRead) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        read_line(r, &mut line)?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
}

fn read_chunked(r: &mut impl BufRead) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        read_line(r, &mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size `{size}`"))?;
        if size == 0 {
            // Trailers, then the blank line.
            read_headers(r)?;
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])
            .map_err(|e| e.to_string())?;
        let mut crlf = String::new();
        read_line(r, &mut crlf)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_refuses_https() {
        let u = Url::parse("http://app:s3cret@10.0.0.5:8080/healthz?full=1#x")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.host, "10.0.0.5");
        assert_eq!((u.port, u.target.as_str()), (8080, "/healthz?full=1"));
        assert_eq!(u.userinfo.as_deref(), Some("app:s3cret"));
        let u = Url::parse("http://[::1]?q").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 80, "/?q")
        );
        let e = Url::parse("https://u:pw@example.com/")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("https is not supported") && !e.contains("pw@"),
            "{e}"
        );
        assert_eq!(
            mask_url("postgres://app:SECRET@db:5432/akira"),
            "postgres://app:********@db:5432/akira"
        );
    }

    #[test]
    fn reads_chunked_and_interim_responses() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n";
        let r = read_response(&raw[..], false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abcde"[..]));
        assert_eq!(r.header("x-a"), Some("b"));
    }
}
