//! PostgreSQL: dr's own DR modules and the community.postgresql ones, over the native client.
//!
//! One file per module; the shared plumbing is in the parent [`crate::modules`], which
//! this group sees whole.

use super::*;

pub(super) mod postgres_facts;
pub(super) mod postgres_promote;
pub(super) mod postgres_query;
pub(super) mod postgres_replica;
pub(super) mod postgresql_db;
pub(super) mod postgresql_ext;
pub(super) mod postgresql_info;
pub(super) mod postgresql_pg_hba;
pub(super) mod postgresql_ping;
pub(super) mod postgresql_privs;
pub(super) mod postgresql_query;
pub(super) mod postgresql_set;
pub(super) mod postgresql_user;
