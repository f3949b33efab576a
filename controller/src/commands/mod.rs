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
    match cli.command {
        Command::Graph(args) => graph::run(&args),
        Command::Inventory(cmd) => inventory::run(&cmd),
        Command::Modules => modules::run(),
        Command::Vault(cmd) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
            let config = crate::config::Config::discover(&cwd)?;
            let defaults = crate::vault::command::Defaults {
                password_file: config.vault_password_file.clone(),
                key_file: Some(config.vault_key_file()),
            };
            crate::vault::command::run(&cmd, &defaults).map_err(|e| Error::Message(e.to_string()))
        }
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Report(args) => report::run(&args),
    }
}
