//! The run's side of an interrupt: signals become stop levels for the nodes, with a word
//! to the operator on each step.

use std::convert::Infallible;
use std::time::Duration;

use tokio::sync::watch;

use crate::transport::StopLevel;

/// The exit code of an interrupted run (as a shell reports a Ctrl-C: 128 + SIGINT).
pub const EXIT_CODE: i32 = 130;

/// How often the signal state is looked at.
const POLL: Duration = Duration::from_millis(50);

/// Passes the signals recorded by [`crate::interrupt`] on to the run, saying what happens.
/// Never returns (the run ends without it).
pub async fn watch_signals(stop: watch::Sender<StopLevel>) -> Infallible {
    let mut told = StopLevel::Run;
    loop {
        let level = crate::interrupt::level();
        if level > told {
            eprintln!("\n{}", announce(level));
            told = level;
            stop.send_replace(level);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn announce(level: StopLevel) -> &'static str {
    match level {
        StopLevel::Run => "",
        StopLevel::AfterTask => {
            "interrupted: finishing the running task on each host, starting nothing new (Ctrl-C again to kill them)"
        }
        StopLevel::Now => "interrupted: killing the running tasks on every host",
    }
}

/// The journal's word for how far the run was stopped.
pub fn word(level: StopLevel) -> Option<&'static str> {
    match level {
        StopLevel::Run => None,
        StopLevel::AfterTask => Some("after_task"),
        StopLevel::Now => Some("now"),
    }
}
