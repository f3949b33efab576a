//! One file per subcommand; [`dispatch`] routes to them.

mod apply;
mod context;
mod graph;
mod inventory;
mod modules;
mod plan;
mod report;

pub use context::Context;

use crate::Error;
use crate::cli::{Cli, Command};

/// Runs the subcommand; returns the exit code.
pub fn dispatch(cli: Cli) -> Result<i32, Error> {
    crate::transport::init_logging(cli.verbose);
    match cli.command {
        Command::Graph(args) => graph::run(&args),
        Command::Inventory(cmd) => inventory::run(&cmd),
        Command::Modules => modules::run(),
        Command::Vault(cmd) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
            let config = crate::config::Config::discover(&cwd)?;
            crate::vault::command::run(&cmd, config.vault_password_file.as_deref())
                .map_err(|e| Error::Message(e.to_string()))
        }
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Report(args) => report::run(&args),
    }
}
