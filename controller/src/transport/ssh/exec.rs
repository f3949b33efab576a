//! One remote command on an exec channel: stdin streamed in, stdout handed over line by
//! line as it arrives, stderr kept (bounded) for messages, exit status awaited properly
//! (it may arrive after EOF, so the loop runs until the channel is gone).

use russh::client::Handle;
use russh::{ChannelMsg, ChannelReadHalf};

use super::flow::Flow;
use super::host_key::Handler;

/// Keep at most this much stderr for messages.
const STDERR_LIMIT: usize = 64 * 1024;

/// How a remote command ended.
#[derive(Debug, Default)]
pub struct Exit {
    /// Exit status, when the remote side sent one.
    pub status: Option<u32>,
    /// A signal that killed the command, when one did.
    pub signal: Option<String>,
    /// The start of what it wrote on stderr.
    pub stderr: String,
    /// The unconsumed bytes its stdin was paced to, when it was (see `flow.rs`).
    pub paced: Option<u64>,
    /// The round trip its stdin was paced for, or found too long to pace (see `flow.rs`).
    pub round_trip: Option<std::time::Duration>,
}

/// Pieces a paced upload is handed to russh in (two packets of OpenSSH's maximum size).
const PACED_PIECE: usize = 64 * 1024;

/// Pings sent to measure the server's round trip; the quickest answer counts.
const PINGS: usize = 2;

/// Runs `command`, writes `stdin` then EOF, and calls `on_line` for each stdout line.
/// `stdin` is paced to what the host consumes when `flow` says so for a connection whose
/// round trip is `rtt` (the kernel's; see `flow.rs`), unless the server's answer to a ping,
/// asked for while the command starts, says it is distant. An error means the channel could
/// not be used at all (the connection is gone).
pub async fn run(
    handle: &Handle<Handler>,
    command: &str,
    stdin: bytes::Bytes,
    (flow, rtt): (&Flow, Option<std::time::Duration>),
    on_line: impl FnMut(&[u8]),
) -> Result<Exit, russh::Error> {
    // Only OpenSSH uploads are paced, and OpenSSH answers pings (it refuses the request).
    let pinged = async {
        if rtt.is_some() && flow.openssh() {
            ping(handle).await
        } else {
            None
        }
    };
    let started = async {
        let channel = handle.channel_open_session().await?;
        channel.exec(true, command).await?;
        Ok::<_, russh::Error>(channel)
    };
    let (pinged, channel) = tokio::join!(pinged, started);
    let channel = channel?;
    tracing::debug!("round trip: kernel {rtt:?}, ping {pinged:?}");
    let rtt = super::flow::round_trip(rtt, pinged);
    let id = channel.id().number();
    let (read, write) = channel.split();
    // sshd grants the window as the command starts, before it can exit: waiting for it here
    // costs nothing.
    let paced = flow.limit(id, rtt).await;
    let writer = async {
        // Owned bytes go out in packets of the peer's maximum size; `data(&[u8])` would copy
        // through an 8 KiB buffer, four times the packets, which made the agent push slow.
        // `Bytes` is shared: pushing the agent to 50 hosts does not copy it 50 times.
        let Some(limit) = paced else {
            write.data_bytes(stdin).await?;
            return write.eof().await;
        };
        let mut at = 0;
        while at < stdin.len() {
            if !flow.until_consumed(id, limit).await {
                tracing::debug!(
                    "no window adjustment for {:?}: sending the rest unpaced",
                    super::flow::STALL
                );
                write.data_bytes(stdin.slice(at..)).await?;
                break;
            }
            let end = stdin.len().min(at + PACED_PIECE);
            write.data_bytes(stdin.slice(at..end)).await?;
            flow.sent(id, end - at);
            at = end;
        }
        write.eof().await
    };
    let reader = collect(read, on_line);
    // The channel's end decides. A command that exits without reading all its stdin (a
    // missing agent, a host without gzip) leaves the writer waiting for window space that
    // will never come: it is dropped then, and the exit status is what matters.
    tokio::pin!(writer, reader);
    let mut written = None;
    let exit = loop {
        tokio::select! {
            w = &mut writer, if written.is_none() => written = Some(w),
            exit = &mut reader => break exit,
        }
    };
    if let Some(Err(e)) = written
        && exit.status.is_none()
        && exit.signal.is_none()
    {
        return Err(e);
    }
    Ok(Exit {
        paced,
        round_trip: rtt,
        ..exit
    })
}

/// The server's quickest answer to [`PINGS`] pings, each waited for [`STALL`] at most
/// (`None`: no answer, or the connection is gone).
///
/// [`STALL`]: super::flow::STALL
async fn ping(handle: &Handle<Handler>) -> Option<std::time::Duration> {
    let mut quickest: Option<std::time::Duration> = None;
    for _ in 0..PINGS {
        let sent = std::time::Instant::now();
        tokio::time::timeout(super::flow::STALL, handle.send_ping())
            .await
            .ok()?
            .ok()?;
        let took = sent.elapsed();
        quickest = Some(quickest.map_or(took, |q| q.min(took)));
    }
    quickest
}

/// Reads the channel until it is gone: stdout to `on_line` line by line, stderr kept
/// (bounded), the exit status or signal noted.
pub async fn collect(mut read: ChannelReadHalf, mut on_line: impl FnMut(&[u8])) -> Exit {
    let mut exit = Exit::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut stderr: Vec<u8> = Vec::new();
    while let Some(msg) = read.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                pending.extend_from_slice(&data);
                while let Some(at) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=at).collect();
                    on_line(&line[..line.len() - 1]);
                }
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let room = STDERR_LIMIT.saturating_sub(stderr.len());
                stderr.extend_from_slice(&data[..data.len().min(room)]);
            }
            ChannelMsg::ExitStatus { exit_status } => exit.status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                exit.signal = Some(format!("{signal_name:?}"));
            }
            _ => {}
        }
    }
    if !pending.is_empty() {
        on_line(&pending);
    }
    exit.stderr = String::from_utf8_lossy(&stderr).trim().to_owned();
    exit
}
