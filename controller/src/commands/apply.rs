//! `dr apply`: change the hosts; `--check` is a plan.

use std::path::PathBuf;

use dr_agent::wire::Mode;

use crate::Error;
use crate::cli::ApplyArgs;
use crate::config::Config;
use crate::run::lock::RunLock;
use crate::run::{self, RunMode};

/// Runs an apply (or a plan with `--check`, which takes no lock).
pub fn run(args: &ApplyArgs) -> Result<i32, Error> {
    if args.check {
        // `dr plan`, with diffs shown as `--diff` says (for `--format ansible`: plans compute
        // and the other formats show them anyway).
        return run::run(
            &args.run,
            RunMode {
                mode: Mode::Check,
                diff: args.diff,
                yes: true,
            },
        );
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
    let config = Config::discover(&cwd)?;
    let inventories: &[PathBuf] = if args.run.inventory.inventory.is_empty() {
        &config.inventory
    } else {
        &args.run.inventory.inventory
    };
    let _lock = RunLock::acquire(&config.lock_dir(), inventories, &args.run.playbooks)
        .map_err(|e| Error::Message(e.to_string()))?;
    run::run(
        &args.run,
        RunMode {
            mode: Mode::Apply,
            diff: args.diff,
            yes: args.yes,
        },
    )
}
