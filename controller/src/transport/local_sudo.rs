//! The local connection when the play escalates and dr is not root: as Ansible's local
//! connection does, the agent runs through `sudo -n [-u USER]` (never prompting), as its
//! own process, speaking the same protocol as over SSH on its stdin and stdout. dr running
//! as root keeps the engine in process, where a task switches users itself.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use dr_agent::escalation::Method;
use dr_agent::wire::{Control, Event, PING_EVERY_SECS, Request};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::{Answers, StopLevel, StopWatch, TransportError, reached};

/// Runs `request` through `sudo` as `user`, with the agent at `agent`.
pub async fn run(
    agent: &Path,
    user: &str,
    method: Method,
    request: Request,
    events: super::Events,
    mut answers: Answers,
    mut stop: StopWatch,
) -> Result<(), TransportError> {
    if method == Method::Su {
        return Err(TransportError::Agent(format!(
            "`become_method: su` needs the password of `{user}`, as dr does not run as root, and \
             dr never prompts for one: run dr as root, or escalate with sudo"
        )));
    }
    let mut command = tokio::process::Command::new("sudo");
    command.arg("-n");
    if user != "root" {
        command.args(["-u", user]);
    }
    let mut child = command
        .arg(agent)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TransportError::Agent(format!("cannot run `sudo` for `become`: {e}")))?;
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(TransportError::Agent(
            "the agent's pipes were not made (a bug in dr)".into(),
        ));
    };
    let reader = async {
        let mut seen = 0usize;
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(event) = serde_json::from_str::<Event>(&line) {
                seen += 1;
                let _ = events.send(Box::new(event));
            }
        }
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        (text, seen)
    };
    let mut kill = stop.clone();
    let control = async {
        // The request carries secrets: it is encoded for the agent's stdin only.
        let line = tokio::task::spawn_blocking(move || request.to_line())
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        stdin.write_all(&line).await?;
        let mut ping = tokio::time::interval(Duration::from_secs(PING_EVERY_SECS));
        ping.tick().await;
        let mut told = false;
        loop {
            tokio::select! {
                _ = ping.tick() => stdin.write_all(Control::Ping.to_line().as_bytes()).await?,
                Some(answer) = answers.recv() => {
                    let line = Control::Answer { answer }.to_line();
                    stdin.write_all(line.as_bytes()).await?;
                }
                () = reached(&mut stop, StopLevel::AfterTask), if !told => {
                    told = true;
                    stdin.write_all(Control::Stop.to_line().as_bytes()).await?;
                }
                () = reached(&mut kill, StopLevel::Now), if told => {
                    // The agent kills what it started when its stdin ends.
                    drop(stdin);
                    return Ok::<bool, std::io::Error>(true);
                }
            }
        }
    };
    tokio::pin!(reader, control);
    let (stderr, seen) = tokio::select! {
        text = &mut reader => text,
        written = &mut control => match written {
            Ok(true) => return Err(TransportError::Interrupted),
            // The agent's stdin went away: its exit says why.
            _ => (&mut reader).await,
        },
    };
    let status = child
        .wait()
        .await
        .map_err(|e| TransportError::Agent(format!("the escalated agent: {e}")))?;
    if status.success() && seen > 0 {
        return Ok(());
    }
    if stderr.contains("a password is required") || stderr.contains("a terminal is required") {
        return Err(TransportError::Agent(
            "`become` on the local connection needs a password, but dr runs `sudo -n` (never \
             prompts): allow passwordless sudo for this user, or run dr as root"
                .into(),
        ));
    }
    Err(TransportError::Agent(format!(
        "the agent started through `sudo` {status}: {}",
        stderr.trim()
    )))
}
