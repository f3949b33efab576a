//! Running commands and scripts on the host.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod async_status;
pub(super) mod command;
pub(super) mod raw;
pub(super) mod script;
pub(super) mod shell;
