//! Files on the host: their content, attributes and trees.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod blockinfile;
pub(super) mod copy;
pub(super) mod env_file;
pub mod fetch;
pub(super) mod file;
pub(super) mod find;
pub(super) mod lineinfile;
pub(super) mod replace;
pub(super) mod slurp;
pub(super) mod stat;
pub(super) mod template;
pub(super) mod unarchive;
