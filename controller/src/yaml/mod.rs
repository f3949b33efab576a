//! YAML with locations.

mod aliases;
mod binary;
mod load;
mod merge;
mod node;
mod seen_keys;
mod tag_scan;
mod unsafe_tag;
pub mod vault_tag;

pub use load::{load_file, parse_str};
pub use node::{Node, NodeValue};
