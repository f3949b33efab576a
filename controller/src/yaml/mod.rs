//! YAML with locations.

mod load;
mod node;

pub use load::{load_file, parse_str};
pub use node::{Node, NodeValue};
