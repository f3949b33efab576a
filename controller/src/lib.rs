//! The dr controller: parses inventories and playbooks, compiles the DAG, runs it through a
//! transport, and reports. The `dr` binary is a thin wrapper around [`run`].

/// Like `print!`, but a closed stdout (`dr plan | head`) is not an error: the run goes on
/// and is journaled; only the display stops.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// Like `println!`, tolerating a closed stdout (see [`out!`]).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub mod ansible_cfg;
pub mod bridge;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dag;
pub mod diagnostic;
pub mod fact_cache;
pub mod host_info;
pub mod input_file;
pub mod interrupt;
pub mod inventory;
pub mod journal;
pub mod output;
pub mod playbook;
pub mod run;
pub mod secrets;
pub mod transport;
pub mod vars_file;
pub mod vault;
pub mod vault_glue;
pub mod yaml;

/// The error a command ends with: a located diagnostic, or a plain message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error at a place in a file.
    #[error("{0}")]
    Located(#[from] diagnostic::Diagnostic),
    /// Any other failure, already phrased for the user.
    #[error("{0}")]
    Message(String),
}

impl Error {
    /// The error as ansible-playbook prints one (`--format ansible`, which scripts read):
    /// `[ERROR]: ` and the message (once), then the `Origin:` of a located one and dr's
    /// snippet.
    pub fn ansible_style(&self) -> String {
        match self {
            Error::Located(d) => {
                let file = std::path::absolute(&*d.loc.file)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| d.loc.file.to_string());
                // The message once, as Ansible: then where, with dr's snippet.
                format!(
                    "[ERROR]: {}\nOrigin: {file}:{}:{}\n{}",
                    d.message,
                    d.loc.line,
                    d.loc.col,
                    d.snippet()
                )
            }
            Error::Message(m) => format!("[ERROR]: {m}"),
        }
    }
}

/// Runs one command line; returns the process exit code.
pub fn run(cli: cli::Cli) -> Result<i32, Error> {
    // With `--format ansible`, `-v` is ansible-playbook's (results on stdout), not more logs.
    init_logging(if cli.ansible_format() { 0 } else { cli.verbose });
    output::set_verbosity(cli.verbose);
    commands::dispatch(cli)
}

/// Logs go to stderr: warnings by default, `-v` info, `-vv` debug; `DR_LOG` overrides
/// (`DR_LOG=dr=trace`).
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,dr=info,dr_agent=info",
        _ => "info,dr=debug,dr_agent=debug,russh=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .try_init();
}
