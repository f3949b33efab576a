//! `dr modules`: what the playbook language offers.

use crate::Error;

/// Lists modules, marking those this build does not run yet.
pub fn run() -> Result<i32, Error> {
    for m in dr_agent::modules::ALL {
        crate::outln!("{:<18} {}", m.name(), m.arg_names().join(", "));
    }
    for name in dr_agent::modules::PLANNED {
        crate::outln!("{name:<18} (not available in this version)");
    }
    Ok(0)
}
