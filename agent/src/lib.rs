//! The dr agent: runs one whole play on one host and streams events back.
//!
//! The controller links this library for the local connection and ships the `dr-agent`
//! binary to remote hosts; both run the same engine ([`engine::run`]).

pub mod ansible_vault;
pub mod async_job;
pub mod clock;
pub mod detail;
pub mod diff;
pub mod engine;
pub mod escalation;
pub mod fsutil;
mod fsutil_xattr;
pub mod home;
pub mod mask;
pub mod modules;
pub(crate) mod pgclient;
pub mod pybytes;
pub mod template;
pub mod wire;
