//! A native PostgreSQL client for the agent's PostgreSQL modules: no `psql` on the host, no
//! secret on any command line (the password travels only inside the protocol), TLS through
//! rustls, Unix sockets and TCP.
//!
//! [`ConnSpec`] says how to connect, [`connect`] opens a [`Session`], and a session runs
//! plain SQL ([`Session::batch`]) or one statement whose rows come back as JSON
//! ([`Session::statement`]) with PostgreSQL's types mapped as psycopg2 hands them to
//! Ansible's `community.postgresql` modules ([`value`]).
//!
//! Peer authentication: a local socket connection authenticates the OS user of the process
//! that called `connect(2)` (the kernel records the caller's effective uid). When the agent
//! runs as root, the modules ask ([`ConnSpec::peer_as`]) to connect as the OS user named like
//! the database role (`postgres`, as `become_user: postgres` does for Ansible): the connecting
//! thread alone takes that user's effective uid and gid for the `connect(2)` call (Linux
//! keeps credentials per thread; the raw `setresuid` system call changes only the calling
//! thread's), then returns to root. Nothing is spawned and no other thread of the agent
//! changes identity; the session keeps working over the already authenticated socket.

mod conn;
mod error;
mod literal;
mod session;
mod status;
mod tls;
#[cfg(test)]
mod tls_tests;
pub(crate) mod value;

pub(crate) use conn::{ConnSpec, Password, Session, SslMode, connect};
pub(crate) use error::ClientError;
pub(crate) use literal::{Arg, interpolate, quote};
pub(crate) use status::split_statements;
