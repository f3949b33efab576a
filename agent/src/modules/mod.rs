//! The modules: one file each, one trait, one registry list ([`ALL`]).
//!
//! Modules are grouped by domain, one folder each: `files`, `commands`, `packages`,
//! `system`, `net`, `postgres`, `docker`, `control`. The plumbing they share
//! (processes, HTTP, the PostgreSQL connection, file attributes and contents, argument
//! parsing) stays here, beside the groups. Adding a module is its file in a group, its
//! `mod` line in the group's file, and its entry in [`ALL`].
//!
//! A module is called in two steps (STYLE.md "Check, then apply"): [`Module::check`] reads
//! the host's state and returns a [`Plan`] — "no change" with a reason, or the changes it
//! would make plus an [`Action`] that performs exactly those. In check mode the engine
//! stops after `check`.

mod accounts;
pub(crate) mod args;
pub(crate) mod argspec;
pub use args::{json_bool, shell_split};
pub mod as_user;
mod attrs;
mod bin_path;
pub mod bridge;
mod compose_cli;
mod content;
mod digest;
mod hostcmd;
mod http;
mod output_encoding;
mod path_arg;
mod path_info;
mod pg;
mod pg_login;
mod process;
mod pyregex;
mod systemctl;
mod timeout;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

pub use args::{ArgsError, parse_args, parse_data_args, text_args};
pub use meta::SUPPORTED as META_ACTIONS;

use crate::template::Scope;
use crate::wire::{Diff, FileContent};

/// Every module this build implements. Adding a module = one file + one line here.
pub static ALL: &[&dyn Module] = &[
    &inventory_change::AddHost,
    &assert::Assert,
    &async_status::AsyncStatus,
    &authorized_key::AuthorizedKey,
    &blockinfile::BlockInFile,
    &command::Command,
    &compose::Compose,
    &copy::Copy,
    &deb822_repository::Deb822Repository,
    &debug::Debug,
    &protomatter_debug::ProtomatterDebug,
    &env_file::EnvFile,
    &fail::Fail,
    &ping::Ping,
    &pause::Pause,
    &cron::Cron,
    &wait_for_connection::WaitForConnection,
    &get_url::GetUrl,
    &file::File,
    &find::Find,
    &group::Group,
    &hostname::Hostname,
    &inventory_change::GroupBy,
    &include_vars::IncludeVars,
    &lineinfile::LineInFile,
    &meta::Meta,
    &apt::Apt,
    &apt_repository::AptRepository,
    &package::Package,
    &postgres_facts::PostgresFacts,
    &postgres_promote::PostgresPromote,
    &postgres_query::PostgresQuery,
    &postgres_replica::PostgresReplica,
    &postgresql_db::PostgresqlDb,
    &postgresql_ext::PostgresqlExt,
    &postgresql_info::PostgresqlInfo,
    &postgresql_pg_hba::PostgresqlPgHba,
    &postgresql_ping::PostgresqlPing,
    &postgresql_privs::PostgresqlPrivs,
    &postgresql_query::PostgresqlQuery,
    &postgresql_set::PostgresqlSet,
    &postgresql_user::PostgresqlUser,
    &set_fact::SetFact,
    &setup::Setup,
    &service::Service,
    &fetch::Fetch,
    &raw::Raw,
    &recovery_point::RecoveryPoint,
    &replace::Replace,
    &script::Script,
    &shell::Shell,
    &slurp::Slurp,
    &stat::Stat,
    &sysctl::Sysctl,
    &systemd::Systemd,
    &template::Template,
    &unarchive::Unarchive,
    &uri::Uri,
    &user::User,
    &validate_argument_spec::ValidateArgumentSpec,
    &wait_for::WaitFor,
];

/// Module names the playbook language knows but this build does not implement yet; a task
/// using one fails at run time. A module moves from here to [`ALL`] when implemented.
pub static PLANNED: &[&str] = &[];

/// The module called `name` (short form, e.g. `copy`), if this build implements it; a
/// fully qualified name (`ansible.builtin.replace`) is a bridged module.
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let bridged = bridge::handles(name).then_some(&bridge::Bridge as &'static dyn Module);
    ALL.iter().copied().find(|m| m.name() == name).or(bridged)
}

/// One module: what it accepts, and how it plans.
pub trait Module: Sync {
    /// The short name used in playbooks (`copy`).
    fn name(&self) -> &'static str;

    /// Every argument key the module accepts; the controller rejects others at parse time.
    fn arg_names(&self) -> &'static [&'static str];

    /// Whether the module accepts a string instead of a mapping (`command: echo hi`).
    fn free_form(&self) -> bool {
        false
    }

    /// A literal argument value this build does not run (the argument's name and why),
    /// refused by the controller where the playbook writes it. Templated values are checked
    /// again when the module runs.
    fn refused_value(&self, _args: &Json) -> Option<(&'static str, String)> {
        None
    }

    /// Reads state and returns what would change. Must not change anything on the host.
    /// `args` are already rendered.
    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError>;
}

/// What a module may use besides its arguments.
pub struct Context<'a> {
    /// Check mode for this task (the play's mode, or the task's `check_mode`).
    pub check_mode: bool,
    /// Whether diffs were asked for.
    pub diff: bool,
    /// Ansible's diff mode for this task (`--diff`, a plan, the task's `diff:`): whether a
    /// result in Ansible's shape carries its `diff` key.
    pub diff_mode: bool,
    /// Controller-side files shipped with the request (`copy`/`template` sources).
    pub files: &'a BTreeMap<String, FileContent>,
    /// The task's variables (for `template` and `debug: var=`).
    pub scope: &'a Scope,
    /// The task's rendered `environment:`.
    pub environment: &'a [(String, String)],
    /// The task's `timeout:`; processes still running then are killed.
    pub timeout: Option<std::time::Duration>,
    /// The user the task's process runs as, when it is not the agent's (`become_user`).
    pub become_user: Option<&'a str>,
    /// The task runs under `become` (whoever it runs as): Ansible's actions read files
    /// differently then (`fetch` through `slurp`).
    pub escalated: bool,
    /// The operator agreed to destructive steps (the request's `consent`): without it a
    /// module refuses to destroy data it found on the host.
    pub consent: bool,
    /// Bridged modules' payloads carried by the request (SHA-256 → base64 zip).
    pub bridged: &'a BTreeMap<String, String>,
    /// What the controller answered (and is asked for while the play runs): a file the
    /// request did not carry ([`crate::template::lookup::CONTROLLER_FILE`]).
    pub controller: Option<&'a crate::template::lookup::Table>,
}

/// The result of one module call (check or apply), before the engine adds task keywords.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Something changed (or would).
    pub changed: bool,
    /// The module failed (a non-zero exit, an assertion...).
    pub failed: bool,
    /// Human message: the reason for no change, what would run, the failure.
    pub msg: String,
    /// Diffs of what changed (unmasked; the engine masks them).
    pub diffs: Vec<Diff>,
    /// Module-specific keys of the registered result (`rc`, `stdout`, `backup_file`...).
    pub data: Map<String, Json>,
    /// Facts to set on the host (`set_fact`).
    pub facts: Map<String, Json>,
    /// `set_fact` with `cacheable: true`: the facts are also host facts, which the fact
    /// cache keeps across runs (Ansible's `_ansible_facts_cacheable`).
    pub facts_cacheable: bool,
    /// Text to show the operator (`debug`).
    pub messages: Vec<String>,
    /// The change is destructive (shown prominently by `dr plan`).
    pub dangerous: bool,
    /// Run notified handlers now (`meta: flush_handlers`).
    pub flush_handlers: bool,
    /// Check mode cannot tell what this would change (a command's "would run"): Ansible
    /// skips such a task in check mode, so its plan notifies no handler.
    pub unpredictable: bool,
    /// End the play on this host without failing it (`meta: end_host`, `end_play`,
    /// `end_batch`).
    pub end_host: bool,
    /// The module skipped itself (a bridged module without check mode, in check mode).
    pub skipped: bool,
    /// A change to the run's inventory (`add_host`, `group_by`), made by the controller.
    pub inventory: Option<crate::wire::InventoryChange>,
    /// `data` is the module's result as Ansible's module gives it, its `diff` included (in
    /// diff mode): the registered result gets no diff of dr's shape, and no `msg` unless
    /// the module failed (dr's `msg` is for the operator).
    pub ansible_shape: bool,
    /// The process ran past the context's timeout and was killed: the task fails as
    /// Ansible's does past its `timeout:` (`engine/task_timeout.rs`), an async job past its
    /// time limit with Ansible's own message.
    pub timed_out: bool,
}

impl Outcome {
    /// Nothing to change, with the reason.
    pub fn ok(msg: impl Into<String>) -> Self {
        Outcome {
            msg: msg.into(),
            ..Outcome::default()
        }
    }

    /// A failure with its message.
    pub fn failed(msg: impl Into<String>) -> Self {
        Outcome {
            failed: true,
            msg: msg.into(),
            ..Outcome::default()
        }
    }
}

/// What `check` found: the outcome to report in check mode, and the action that performs
/// exactly the planned changes (`None` when there is nothing to do).
pub struct Plan {
    /// What check mode reports.
    pub outcome: Outcome,
    /// The work to do in apply mode.
    pub action: Option<Box<dyn Action>>,
}

impl Plan {
    /// Nothing to do; `outcome` is the final result in both modes.
    pub fn done(outcome: Outcome) -> Self {
        Plan {
            outcome,
            action: None,
        }
    }

    /// Changes to make: `outcome` is what check mode reports, `action` performs them.
    pub fn change(outcome: Outcome, action: impl Action + 'static) -> Self {
        Plan {
            outcome,
            action: Some(Box::new(action)),
        }
    }
}

/// The apply half of a plan.
pub trait Action {
    /// Performs the planned changes and returns the final outcome.
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError>;
}

/// Why a module could not do its work. The engine adds the task's name and location.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The arguments do not fit the module.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// A file operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done (`cannot read`, `cannot rename`...).
        action: &'static str,
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Any other failure, already phrased for the operator.
    #[error("{0}")]
    Failed(String),
}

impl ModuleError {
    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl std::fmt::Display, source: std::io::Error) -> Self {
        ModuleError::Io {
            action,
            path: path.to_string(),
            source,
        }
    }
}

mod commands;
pub mod control;
mod docker;
pub mod files;
mod net;
mod packages;
#[cfg(test)]
pub(crate) mod pgtest;
mod postgres;
#[cfg(test)]
mod readonly_tests;
mod system;
#[cfg(test)]
pub(crate) mod testutil;
use commands::*;
pub use control::include_vars;
pub use control::protomatter_debug;
use control::*;
use docker::*;
pub use files::fetch;
use files::*;
use net::*;
use packages::*;
use postgres::*;
use system::*;
