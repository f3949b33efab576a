//! The agent's exec channel: the request as one line on stdin (written piece by piece as
//! it is encoded), then stdin kept open as the control channel for as long as the agent
//! runs: a ping every few seconds (so the agent knows its controller is still there),
//! `stop` on the first interrupt, and on a kill the channel's end (the agent kills what it
//! started when its stdin ends).

use std::time::Duration;

use dr_agent::wire::{Control, PING_EVERY_SECS};
use russh::client::Handle;
use tokio::sync::mpsc;

use super::exec::{self, Exit};
use super::host_key::Handler;
use crate::transport::{Answers, StopLevel, StopWatch, reached};

/// How an agent run ended.
pub enum Ended {
    /// The channel ended: the agent exited (or the connection died), see the exit.
    Exit(Exit),
    /// The run was stopped at [`StopLevel::Now`]: the channel was closed under the agent.
    Killed,
}

/// Runs `command` with the request line on stdin (its pieces from `request`, in order),
/// calling `on_line` for each stdout line, until the channel ends or the stop level reaches
/// [`StopLevel::Now`]. No control line is written unless the request line was written whole.
pub async fn run(
    handle: &Handle<Handler>,
    command: &str,
    mut request: mpsc::Receiver<bytes::Bytes>,
    answers: &mut Answers,
    mut stop: StopWatch,
    on_line: impl FnMut(&[u8]),
) -> Result<Ended, russh::Error> {
    let channel = handle.channel_open_session().await?;
    channel.exec(true, command).await?;
    let (read, write) = channel.split();
    let reader = exec::collect(read, on_line);
    let mut kill = stop.clone();
    let control = async {
        // The line's newline ends its last piece: compact JSON has no other raw newline.
        let mut whole = false;
        while let Some(piece) = request.recv().await {
            whole = piece.last() == Some(&b'\n');
            write.data_bytes(piece).await?;
        }
        if !whole {
            // The encoding failed (the caller reports it): end the agent's stdin so it stops
            // waiting for the rest, and let its exit end the run.
            write.eof().await?;
            std::future::pending::<()>().await;
        }
        let mut ping = tokio::time::interval(Duration::from_secs(PING_EVERY_SECS));
        ping.tick().await;
        let mut told = false;
        loop {
            tokio::select! {
                _ = ping.tick() => write.data_bytes(Control::Ping.to_line()).await?,
                Some(answer) = answers.recv() => {
                    let line = Control::Answer { answer }.to_line();
                    write.data_bytes(bytes::Bytes::from(line)).await?;
                }
                () = reached(&mut stop, StopLevel::AfterTask), if !told => {
                    told = true;
                    write.data_bytes(Control::Stop.to_line()).await?;
                }
                () = reached(&mut kill, StopLevel::Now), if told => {
                    // Best effort: if the connection is already gone, so is the agent's stdin.
                    let _ = write.eof().await;
                    let _ = write.close().await;
                    return Ok::<(), russh::Error>(());
                }
            }
        }
    };
    tokio::pin!(reader, control);
    let mut failed = None;
    loop {
        tokio::select! {
            exit = &mut reader => {
                // A command that exits without reading its stdin (no cached agent) leaves the
                // writer failing or waiting: the exit is what matters then.
                if let Some(e) = failed
                    && exit.status.is_none()
                    && exit.signal.is_none()
                {
                    return Err(e);
                }
                return Ok(Ended::Exit(exit));
            }
            written = &mut control, if failed.is_none() => match written {
                Ok(()) => return Ok(Ended::Killed),
                Err(e) => failed = Some(e),
            },
        }
    }
}
