//! Modules about the play itself: facts, checks, messages, pauses, the inventory.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod assert;
pub(super) mod debug;
pub(super) mod fail;
pub mod include_vars;
pub(super) mod inventory_change;
pub(super) mod meta;
pub(super) mod pause;
pub mod protomatter_debug;
pub(super) mod recovery_point;
pub(super) mod set_fact;
pub(super) mod validate_argument_spec;
