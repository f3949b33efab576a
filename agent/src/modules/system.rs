//! Accounts, services, scheduled jobs and kernel settings of the host.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod authorized_key;
pub(super) mod cron;
pub(super) mod group;
pub(super) mod hostname;
pub(super) mod service;
pub(super) mod setup;
pub(super) mod sysctl;
pub(super) mod systemd;
pub(super) mod user;
