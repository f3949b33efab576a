//! What the operator sees: live lines, diffs, the summary, or one JSON document.

mod json;
mod progress;
mod style;
pub mod text;

pub use json::JsonCollector;
pub use progress::Progress;
pub use style::Painter;
pub use text::TextPrinter;
