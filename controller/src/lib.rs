//! The dr controller library.
pub mod vault;
