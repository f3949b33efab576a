//! Opening one authenticated SSH connection: TCP (or a ProxyJump tunnel), handshake with
//! the host-key check, authentication, all under the connect timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use tokio::io::{AsyncRead, AsyncWrite};

use super::TransportError;
use super::auth;
use super::flow::{self, Flow};
use super::host_key::{Handler, HostKeyCheck};
use super::known_hosts::lookup_name;
use super::target::{Defaults, Target, resolve_jump};

/// Seconds of silence from the server before a keepalive is sent.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(4);

/// Unanswered keepalives tolerated; one more ends the connection.
const KEEPALIVE_MAX: usize = 2;

/// An authenticated connection, plus the jump hosts it tunnels through (kept open).
pub struct Session {
    /// The connection to the host itself.
    pub handle: Handle<Handler>,
    /// ProxyJump connections, which must outlive `handle`.
    _jumps: Vec<Handle<Handler>>,
    /// The windows of `handle`'s channels, for pacing the agent push.
    pub flow: Arc<Flow>,
    /// The round trip to the host, when the connection is direct (the kernel's measure).
    pub rtt: Option<std::time::Duration>,
    /// Who logged in, on which port.
    pub login: dr_agent::wire::Login,
}

impl Session {
    /// Whether the connection has gone away.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// Connects to `target` (through its ProxyJump hops), verifies its host key and logs in.
#[tracing::instrument(skip_all, fields(host = %target.host))]
pub async fn open(
    target: &Target,
    defaults: &Defaults,
    timeout: Duration,
) -> Result<Session, TransportError> {
    let started = std::time::Instant::now();
    let work = async {
        let mut jumps: Vec<Handle<Handler>> = Vec::new();
        for hop in &target.proxy_jump {
            let jump = resolve_jump(target, hop, defaults);
            let link = match jumps.last() {
                None => direct(&jump).await?,
                Some(prev) => tunnelled(prev, &jump).await?,
            };
            jumps.push(link.handle);
        }
        let link = match jumps.last() {
            None => direct(target).await?,
            Some(prev) => tunnelled(prev, target).await?,
        };
        Ok(Session {
            handle: link.handle,
            _jumps: jumps,
            flow: link.flow,
            rtt: link.rtt,
            login: dr_agent::wire::Login::Ssh {
                user: target.user.clone(),
                port: target.port,
            },
        })
    };
    let session = tokio::time::timeout(timeout, work).await.map_err(|_| {
        TransportError::Unreachable(format!(
            "cannot connect to `{}` ({}:{}): no answer within {}s (--connect-timeout)",
            target.host,
            target.address,
            target.port,
            timeout.as_secs()
        ))
    })??;
    let via = if target.proxy_jump.is_empty() {
        String::new()
    } else {
        format!(" through `{}`", target.proxy_jump.join(","))
    };
    tracing::info!(
        "connected to `{}` as `{}` at {}:{}{via} in {} ms",
        target.host,
        target.user,
        target.address,
        target.port,
        started.elapsed().as_millis()
    );
    Ok(session)
}

/// A connection as it was made: its handle, its channels' windows and, when direct, the
/// round trip.
struct Link {
    handle: Handle<Handler>,
    flow: Arc<Flow>,
    rtt: Option<Duration>,
}

async fn direct(target: &Target) -> Result<Link, TransportError> {
    let socket = tokio::net::TcpStream::connect((target.address.as_str(), target.port))
        .await
        .map_err(|e| {
            TransportError::Unreachable(format!(
                "cannot connect to `{}` ({}:{}): {e}",
                target.host, target.address, target.port
            ))
        })?;
    let _ = socket.set_nodelay(true);
    let rtt = flow::min_rtt(&socket);
    let (handle, flow) = handshake(socket, target).await?;
    Ok(Link { handle, flow, rtt })
}

async fn tunnelled(through: &Handle<Handler>, target: &Target) -> Result<Link, TransportError> {
    let channel = through
        .channel_open_direct_tcpip(
            target.address.clone(),
            u32::from(target.port),
            "127.0.0.1",
            0,
        )
        .await
        .map_err(|e| {
            TransportError::Unreachable(format!(
                "cannot reach `{}` ({}:{}) through the jump host: {e}",
                target.host, target.address, target.port
            ))
        })?;
    let (handle, flow) = handshake(channel.into_stream(), target).await?;
    // No socket of its own: the round trip is not known, and the push is not paced.
    Ok(Link {
        handle,
        flow,
        rtt: None,
    })
}

async fn handshake<S>(
    stream: S,
    target: &Target,
) -> Result<(Handle<Handler>, Arc<Flow>), TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let check = HostKeyCheck {
        host: target.host.clone(),
        lookup: lookup_name(&target.address, target.port),
        trust: target.trust.clone(),
    };
    let config = client::Config {
        preferred: russh::Preferred {
            key: check.preferred_algorithms().into(),
            ..Default::default()
        },
        // Detects a host that died (or a network cut) mid-run: after 4 s without a byte
        // from the server a keepalive goes out; the third unanswered interval ends the
        // connection, at most 12 s after the server last spoke.
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        ..Default::default()
    };
    let refusal = Arc::new(Mutex::new(None));
    let flow = Arc::new(Flow::default());
    let handler = Handler {
        check,
        refusal: refusal.clone(),
        flow: flow.clone(),
    };
    let result = client::connect_stream(Arc::new(config), stream, handler).await;
    let mut handle = match result {
        Ok(h) => h,
        Err(e) => {
            let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(match refused {
                Some(why) => TransportError::HostKey(why),
                None => TransportError::Unreachable(format!(
                    "SSH handshake with `{}` ({}:{}) failed: {e}",
                    target.host, target.address, target.port
                )),
            });
        }
    };
    let how = auth::authenticate(&mut handle, target)
        .await
        .map_err(|why| TransportError::Unreachable(format!("`{}`: {why}", target.host)))?;
    tracing::debug!("authenticated to `{}` with {how}", target.host);
    Ok((handle, flow))
}
