//! `dr apply`: change the hosts; `--check` is a plan.

use dr_agent::wire::Mode;

use crate::Error;
use crate::cli::ApplyArgs;
use crate::run::{self, RunMode};

/// Runs an apply (or a plan with `--check`).
pub fn run(args: &ApplyArgs) -> Result<i32, Error> {
    if args.check {
        return super::plan::run(&args.run);
    }
    run::run(
        &args.run,
        RunMode {
            mode: Mode::Apply,
            diff: args.diff,
            yes: args.yes,
        },
    )
}
