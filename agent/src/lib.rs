//! The dr agent: runs one whole play on one host and streams events back.
//!
//! The controller links this library for the local connection and ships the `dr-agent`
//! binary to remote hosts; both run the same engine.

pub mod wire;
