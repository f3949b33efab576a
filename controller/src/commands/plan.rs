//! `dr plan`: check mode everywhere, diffs, exit 0 / 2 / 1.

use dr_agent::wire::Mode;

use crate::Error;
use crate::cli::RunArgs;
use crate::run::{self, RunMode};

/// Runs a plan.
pub fn run(args: &RunArgs) -> Result<i32, Error> {
    run::run(
        args,
        RunMode {
            mode: Mode::Check,
            diff: true,
            yes: true,
        },
    )
}
