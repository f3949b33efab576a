//! What the operator sees: live lines, diffs, the summary, or one JSON document.

mod ansible;
mod json;
mod listing;
mod progress;
mod pyjson;
mod style;
pub mod text;

pub use ansible::{AnsiblePrinter, Shown};
pub use json::JsonCollector;
pub use listing::Listing;
pub use progress::Progress;
pub use style::Painter;
pub use text::TextPrinter;

use std::sync::atomic::{AtomicU8, Ordering};

/// `-v` count for the run's output, process-wide like the log filter it sits beside.
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// Records the `-v` count (`-v` shows every task result's output, as `ansible-playbook -v`).
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

/// The `-v` count.
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}
