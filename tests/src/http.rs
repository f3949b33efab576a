//! A minimal HTTP/1.0 GET, enough for health checks of test bed services.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::{Error, Result};

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// `GET path` from `addr`, with a 10 s timeout.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response> {
    let what = format!("http://{addr}{path}");
    let io = |source| Error::Spawn {
        command: format!("GET {what}"),
        source,
    };
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(io)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(io)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Unexpected {
            command: format!("GET {what}"),
            detail: format!("not an HTTP response: {head:?}"),
        })?;
    Ok(Response {
        status,
        body: body.to_owned(),
    })
}
