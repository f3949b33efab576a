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
    /// The unconsumed bytes its stdin was last allowed, when it was paced (see `flow.rs`).
    pub paced: Option<u64>,
}

/// Pieces a paced upload is handed to russh in (two packets of OpenSSH's maximum size).
const PACED_PIECE: usize = 64 * 1024;

/// Runs `command`, writes `stdin` then EOF, and calls `on_line` for each stdout line.
/// `stdin` is paced to what the host consumes when `flow` says so for a connection whose
/// round trip is `rtt` (see `flow.rs`). An error means the channel could not be used at all
/// (the connection is gone).
pub async fn run(
    handle: &Handle<Handler>,
    command: &str,
    stdin: bytes::Bytes,
    (flow, rtt): (&Flow, Option<std::time::Duration>),
    on_line: impl FnMut(&[u8]),
) -> Result<Exit, russh::Error> {
    let channel = handle.channel_open_session().await?;
    channel.exec(true, command).await?;
    let id = channel.id().number();
    let (read, write) = channel.split();
    // sshd grants the window as the command starts, before it can exit: waiting for it here
    // costs nothing.
    let paced = flow.pace(id, rtt).await;
    let writer = async {
        // Owned bytes go out in packets of the peer's maximum size; `data(&[u8])` would copy
        // through an 8 KiB buffer, four times the packets, which made the agent push slow.
        // `Bytes` is shared: pushing the agent to 50 hosts does not copy it 50 times.
        // Ends with the allowance last seen, for the log (the channel's state goes with it).
        if !paced {
            write.data_bytes(stdin).await?;
            return write.eof().await.map(|()| None);
        }
        let mut allowed = None;
        let mut at = 0;
        while at < stdin.len() {
            if !flow.until_consumed(id).await {
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
            allowed = flow.allowance(id).or(allowed);
        }
        write.eof().await.map(|()| allowed)
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
    match written {
        Some(Err(e)) if exit.status.is_none() && exit.signal.is_none() => Err(e),
        Some(Ok(paced)) => Ok(Exit { paced, ..exit }),
        _ => Ok(exit),
    }
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
