//! Debian packages and their repositories.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod apt;
pub(super) mod apt_repository;
pub(super) mod deb822_repository;
pub(super) mod package;
