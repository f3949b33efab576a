//! `dr-agent`: reads one request line on stdin, runs it, streams events as JSON lines, and
//! listens on stdin for control messages until the play ends.
//!
//! The controller's side going away (stdin at EOF, a failed write on stdout, or silence
//! past the limit) means nobody will record what happens next: the agent kills what it
//! started and exits at once, rather than running the rest of the play unobserved.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dr_agent::engine::{Link, Stop};
use dr_agent::wire::{Control, Event, PROTOCOL_VERSION, Request, SILENCE_LIMIT_SECS};

/// Exit status when the controller went away mid-play (as after an interrupt).
const GONE: i32 = 130;

fn main() -> ExitCode {
    // An async job (`poll: 0`) this agent started runs as this binary.
    if let Some(code) = dr_agent::async_job::main_if_job() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!(
            "dr-agent {} protocol {PROTOCOL_VERSION}",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    match read_request() {
        Ok(request) => {
            lead_own_group();
            let stop = Stop::new();
            let link = Link::connected();
            listen(stop.clone(), link.clone());
            run(&request, &stop, &link);
            ExitCode::SUCCESS
        }
        Err(msg) => {
            say(&msg);
            ExitCode::from(2)
        }
    }
}

fn read_request() -> Result<Request, String> {
    let mut input = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut input)
        .map_err(|e| format!("cannot read the request from stdin: {e}"))?;
    let request: Request =
        serde_json::from_str(&input).map_err(|e| format!("malformed request: {e}"))?;
    if request.protocol != PROTOCOL_VERSION {
        return Err(format!(
            "protocol mismatch: the request speaks protocol {}, this agent speaks {PROTOCOL_VERSION}",
            request.protocol
        ));
    }
    Ok(request)
}

/// Makes the agent lead its own process group, so that [`gone`] can kill it with every
/// child it started and nothing else. (Over SSH it already leads its session; then this
/// fails harmlessly.)
fn lead_own_group() {
    let _ = rustix::process::setpgid(None, None);
}

/// Reads control messages until stdin ends, and watches for silence.
fn listen(stop: Stop, link: Link) {
    let started = Instant::now();
    let heard = Arc::new(AtomicU64::new(0));
    {
        let (stop, heard) = (stop.clone(), heard.clone());
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                heard.store(started.elapsed().as_secs(), Ordering::SeqCst);
                match serde_json::from_str::<Control>(&line) {
                    Ok(Control::Stop) => stop.after_task(),
                    Ok(Control::Ping) => {}
                    Ok(Control::Answer { answer }) => link.deliver(*answer),
                    Err(_) if line.trim().is_empty() => {}
                    Err(e) => say(&format!("ignoring a malformed control message: {e}")),
                }
            }
            gone(&stop, "the controller closed the connection");
        });
    }
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let silent = started
                .elapsed()
                .as_secs()
                .saturating_sub(heard.load(Ordering::SeqCst));
            if silent > SILENCE_LIMIT_SECS {
                gone(
                    &stop,
                    &format!("nothing heard from the controller for {silent} s"),
                );
            }
        }
    });
}

fn run(request: &Request, stop: &Stop, link: &Link) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    dr_agent::engine::run_linked(request, stop, link, &mut |event: Event| {
        // After a kill, results are those of killed processes: not worth sending.
        if stop.killed() {
            return;
        }
        if let Ok(line) = event.to_line()
            && writeln!(out, "{line}").and_then(|()| out.flush()).is_err()
        {
            gone(stop, "cannot write to the controller");
        }
    });
}

/// The controller is gone: kill every child (their groups first, then the agent's own
/// group, which holds the agent and the children that share it) and exit.
fn gone(stop: &Stop, why: &str) -> ! {
    say(&format!("{why}: stopping now"));
    stop.kill();
    if rustix::process::getpgrp() == rustix::process::getpid() {
        let _ = rustix::process::kill_current_process_group(rustix::process::Signal::KILL);
    }
    std::process::exit(GONE);
}

/// A line on stderr, if anyone still reads it: with the controller gone, stderr is closed
/// too, and `eprintln!` would panic instead of letting the agent stop.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "dr-agent: {text}");
}
