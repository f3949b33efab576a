//! What the operator sees: live lines, diffs, the summary, or one JSON document.

mod json;
mod style;
pub mod text;

pub use json::JsonCollector;
pub use style::Painter;
pub use text::TextPrinter;
