//! The `dr` binary: parse arguments, run, map the outcome to an exit code.

use std::io::Write as _;

fn main() {
    // An async job (`poll: 0`) the in-process engine started runs as this binary.
    if let Some(code) = dr_agent::async_job::main_if_job() {
        std::process::exit(code);
    }
    // Before anything else, so that no signal is lost (see `dr::interrupt`).
    dr::interrupt::install();
    let cli = dr::cli::Cli::parse_or_exit();
    if !matches!(
        cli.command,
        dr::cli::Command::Plan(_) | dr::cli::Command::Apply(_)
    ) {
        dr::interrupt::release();
    }
    let ansible = cli.ansible_format();
    let code = match dr::run(cli) {
        Ok(code) => code,
        Err(err) if ansible => {
            let _ = writeln!(std::io::stderr(), "{}", err.ansible_style());
            1
        }
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err}");
            1
        }
    };
    std::process::exit(code);
}
