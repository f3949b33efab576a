//! HTTP(S) and waiting for ports, files and connections.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod get_url;
pub(super) mod ping;
pub(super) mod uri;
pub(super) mod wait_for;
pub(super) mod wait_for_connection;
