//! `dr-agent`: reads one request on stdin, runs it, streams events as JSON lines.

use std::io::{Read, Write};
use std::process::ExitCode;

use dr_agent::wire::{Event, PROTOCOL_VERSION, Request};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!(
            "dr-agent {} protocol {PROTOCOL_VERSION}",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    match read_request() {
        Ok(request) => {
            run(&request);
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("dr-agent: {msg}");
            ExitCode::from(2)
        }
    }
}

fn read_request() -> Result<Request, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
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

fn run(request: &Request) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    dr_agent::engine::run(request, &mut |event: Event| {
        // A closed stdout means the controller went away; nothing useful is left to do
        // with the event, and the engine must still finish the play it started.
        if let Ok(line) = event.to_line() {
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    });
}
