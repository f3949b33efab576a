//! How a request reaches its server, below HTTP: ureq's own connectors (CONNECT proxy, TCP,
//! rustls) with two of ours around them. A Unix socket replaces the TCP connection when a
//! task names one (Ansible's `unix_socket`: the URL's host still names the TLS peer), and
//! every connection's status line is kept, because ureq drops the reason phrase the server
//! sent and Ansible shows it (`HTTP Error 405: METHOD NOT ALLOWED`). An `http://` URL goes
//! through a proxy as urllib sends it, the request in absolute form to the proxy; ureq would tunnel it with CONNECT, which proxies refuse for port 80.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, LazyBuffers, NextTimeout,
    RustlsConnector, TcpConnector, Transport,
};

/// The status line of the last response read on a connection (`HTTP/1.1 405 METHOD NOT
/// ALLOWED`), shared between the connector and the caller.
#[derive(Debug, Clone, Default)]
pub(super) struct StatusLine(Arc<Mutex<Option<String>>>);

impl StatusLine {
    /// The reason phrase the server sent, if a status line was read.
    pub fn reason(&self) -> Option<String> {
        let line = self.0.lock().ok()?.clone()?;
        let mut parts = line.splitn(3, ' ');
        parts.next()?;
        parts.next()?;
        Some(parts.next().unwrap_or("").trim().to_owned())
    }

    fn record(&self, input: &[u8]) {
        if !input.starts_with(b"HTTP/") {
            return;
        }
        let Some(end) = input.windows(2).position(|w| w == b"\r\n") else {
            return;
        };
        let line = String::from_utf8_lossy(&input[..end]).into_owned();
        // A `100 Continue` is followed by the real answer.
        let informational = line.split(' ').nth(1).is_some_and(|c| c.starts_with('1'));
        if let Ok(mut slot) = self.0.lock()
            && (slot.is_none() || !informational)
        {
            *slot = Some(line);
        }
    }
}

/// The connector chain for one request: through `unix_socket` when given, else ureq's;
/// with `forward`, the request line names the whole URL (`http://host:port`, its prefix).
pub(super) fn connector(
    unix_socket: Option<PathBuf>,
    timeout: Duration,
    status: StatusLine,
    forward: Option<String>,
) -> impl Connector {
    ().chain(UnixConnector {
        path: unix_socket,
        timeout,
    })
    .chain(ConnectProxyConnector::default())
    .chain(TcpConnector::default())
    .chain(RustlsConnector::default())
    .chain(Recorder { status, forward })
}

/// Resolves the forwarding proxy's name instead of the URL's when a request goes through
/// one: the connection is to the proxy.
#[derive(Debug, Default)]
pub(super) struct ProxyResolver {
    /// The proxy (`http://proxy:3128`), when forwarding.
    proxy: Option<Uri>,
    inner: DefaultResolver,
}

impl ProxyResolver {
    /// Resolves `proxy` rather than the request's host, when given.
    pub fn new(proxy: Option<Uri>) -> ProxyResolver {
        ProxyResolver {
            proxy,
            inner: DefaultResolver::default(),
        }
    }
}

impl Resolver for ProxyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.inner
            .resolve(self.proxy.as_ref().unwrap_or(uri), config, timeout)
    }
}

/// Connects to a Unix socket instead of the URL's host and port.
#[derive(Debug)]
struct UnixConnector {
    path: Option<PathBuf>,
    timeout: Duration,
}

impl Connector<()> for UnixConnector {
    type Out = UnixTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let stream = connect_unix(path)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let config = details.config;
        Ok(Some(UnixTransport {
            stream,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
        }))
    }
}

/// How long a Unix socket that is not there yet (or not listening yet) is waited for.
const UNIX_SETTLE: Duration = Duration::from_secs(1);

/// Connects to the socket at `path`. A socket missing or refusing is tried again for up to
/// [`UNIX_SETTLE`]: a listener started by the task before (`socat` with `async`) may not
/// have bound it yet, where Ansible's own start-up time per task gives it that moment.
fn connect_unix(path: &std::path::Path) -> std::io::Result<UnixStream> {
    let start = std::time::Instant::now();
    loop {
        match UnixStream::connect(path) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) && start.elapsed() < UNIX_SETTLE =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

struct UnixTransport {
    stream: UnixStream,
    buffers: LazyBuffers,
}

impl fmt::Debug for UnixTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixTransport").finish()
    }
}

impl Transport for UnixTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        false
    }
}

/// Keeps the status line of what the connection reads, and with `forward` writes the
/// request line in absolute form (`GET http://host/path HTTP/1.1`).
#[derive(Debug)]
struct Recorder {
    status: StatusLine,
    forward: Option<String>,
}

impl<In: Transport> Connector<In> for Recorder {
    type Out = Recorded<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| Recorded {
            inner,
            status: self.status.clone(),
            forward: self.forward.clone(),
        }))
    }
}

#[derive(Debug)]
struct Recorded<T> {
    inner: T,
    status: StatusLine,
    /// The absolute form's prefix, until the request line is sent.
    forward: Option<String>,
}

impl<T: Transport> Transport for Recorded<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let amount = match self.forward.take() {
            Some(prefix) => absolute_form(self.inner.buffers().output(), amount, &prefix)?,
            None => amount,
        };
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let more = self.inner.await_input(timeout)?;
        self.status.record(self.inner.buffers().input());
        Ok(more)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Rewrites the request line at the start of `buf[..amount]` from `GET /path` to
/// `GET PREFIX/path` in place; the new length.
fn absolute_form(buf: &mut [u8], amount: usize, prefix: &str) -> Result<usize, ureq::Error> {
    let too_long = || ureq::Error::Io(std::io::Error::other("request head too long for a proxy"));
    let at = buf[..amount]
        .iter()
        .position(|b| *b == b' ')
        .map(|i| i + 1)
        .filter(|i| buf.get(*i) == Some(&b'/'))
        .ok_or_else(too_long)?;
    let extra = prefix.len();
    if amount + extra > buf.len() {
        return Err(too_long());
    }
    buf.copy_within(at..amount, at + extra);
    buf[at..at + extra].copy_from_slice(prefix.as_bytes());
    Ok(amount + extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unix_socket_bound_a_moment_later_is_waited_for() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("late.sock");
        let bind = path.clone();
        let listener = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            std::os::unix::net::UnixListener::bind(bind).map(|l| l.accept().is_ok())
        });
        assert!(connect_unix(&path).is_ok());
        assert!(matches!(listener.join(), Ok(Ok(true))));
        let never = dir.path().join("never.sock");
        let start = std::time::Instant::now();
        assert!(connect_unix(&never).is_err());
        assert!(start.elapsed() >= UNIX_SETTLE);
    }

    #[test]
    fn request_lines_in_absolute_form() {
        let mut buf = [0_u8; 64];
        let head = b"GET /x?y=1 HTTP/1.1\r\nHost: o\r\n\r\n";
        buf[..head.len()].copy_from_slice(head);
        let n = absolute_form(&mut buf, head.len(), "http://o").expect("room");
        assert_eq!(&buf[..n], b"GET http://o/x?y=1 HTTP/1.1\r\nHost: o\r\n\r\n");
        assert!(absolute_form(&mut buf[..n], n, "http://o").is_err());
    }

    #[test]
    fn keeps_the_final_status_lines_reason() {
        let s = StatusLine::default();
        s.record(b"HTTP/1.1 100 Continue\r\n\r\n");
        s.record(b"HTTP/1.1 405 METHOD NOT ALLOWED\r\nAllow: GET\r\n");
        s.record(b"HTTP/ body bytes that are no status line");
        assert_eq!(s.reason().as_deref(), Some("METHOD NOT ALLOWED"));
        let none = StatusLine::default();
        none.record(b"HTTP/1.1 200");
        assert_eq!(none.reason(), None);
    }
}
