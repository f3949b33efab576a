//! The dr test bed: a real akira topology on this machine's Docker engine.
//!
//! Every image is built here (debootstrap, `docker import`, Dockerfiles under
//! `testbed/images`) and cached by a hash of its inputs. [`Testbed::up`] starts
//! `akira-db-01` (PostgreSQL 15 primary), `akira-db-02` (streaming replica),
//! `akira-mgmt-01` (compose project `/opt/akira` with `backend` and `cdr-worker`),
//! `akira-sig-01` and `akira-backup-01` (PostgreSQL's client tools, an empty dump
//! directory) on a private network with fixed addresses, plus the apt
//! mirror bare hosts install from. Each host runs sshd and authorizes the test key.
//! Dropping the [`Testbed`] removes everything.

mod cache;
mod command;
mod debian_mirror;
mod docker;
mod error;
mod host;
pub mod http;
mod images;
mod inventory;
pub mod sshd;
mod testbed;
pub mod topology;
mod wait;

pub use cache::{CACHE_ENV, Cache};
pub use debian_mirror::{MIRROR_ENV, debian_mirror};
pub use docker::{DOCKER_ENV, Docker};
pub use error::{Error, Result};
pub use host::Host;
pub use images::{Images, assets_dir, ensure as ensure_images};
pub use inventory::render as render_inventory;
pub use testbed::{HOST_LABEL, KEEP_ENV, Options, RUN_LABEL, Testbed};
pub use wait::until;
