//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// dr: disaster-recovery runbooks as Ansible-style playbooks, compiled to a DAG, run in the
/// right order, with every change shown before it is made and every apply journaled.
#[derive(Debug, Parser)]
#[command(name = "dr", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// More output (-v: connection details; -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change, with diffs; change nothing. Exit 0: no changes, 2: changes, 1: error.
    Plan(RunArgs),
    /// Apply playbooks. Exit 0: success, 1: a failure. Asks before destructive steps unless --yes.
    Apply(ApplyArgs),
    /// Print the DAG as ordered stages, without connecting to any host.
    Graph(GraphArgs),
    /// Inspect the inventory.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Turn a run's journal into a drill report (Setup, Scenario, Timeline, Metrics with RTO
    /// and RPO against their targets, Findings, Actions); `--history` for every run,
    /// `--format prometheus` for textfile-collector metrics.
    Report(ReportArgs),
    /// Manage age-encrypted vault files (create, view, edit, rekey, import from ansible-vault;
    /// keygen and migrate for the team key).
    Vault(crate::vault::command::VaultCommand),
    /// List the modules dr knows.
    Modules,
}

/// Output format of the commands that print results (`plan`, `apply`, `inventory`,
/// `report`). A value a command cannot print is a usage error, never a silent fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// JSON (one document; see the README for the schema).
    Json,
}

/// Output format of `dr plan` and `dr apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RunFormat {
    /// For people: a line per result, diffs, a summary per host.
    #[default]
    Text,
    /// JSON (one document at the end; see the README for the schema).
    Json,
    /// What ansible-playbook 2.19 prints (`PLAY [...]`, `TASK [...]`, `ok: [host]`,
    /// `PLAY RECAP`), for scripts that read it; `-v`/`-vv` as ansible-playbook's. dr's
    /// exit codes.
    Ansible,
}

/// Output format of `dr graph`, the one command that also draws Graphviz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GraphFormat {
    /// Ordered stages, for people.
    #[default]
    Text,
    /// `{"stages": [...]}`.
    Json,
    /// Graphviz `digraph`.
    Dot,
}

/// Exit code of a usage error (an unknown flag, a missing or invalid argument): `EX_USAGE`
/// from sysexits.h, so it is never mistaken for `dr plan`'s 2 ("changes").
pub const USAGE_EXIT: i32 = 64;

impl Cli {
    /// Whether the command prints ansible-playbook's output (`--format ansible`).
    pub fn ansible_format(&self) -> bool {
        let run = match &self.command {
            Command::Plan(run) => run,
            Command::Apply(apply) => &apply.run,
            _ => return false,
        };
        run.format == RunFormat::Ansible
    }

    /// Parses the process's arguments. `--help` and `--version` print and exit 0; a usage
    /// error prints clap's message and exits [`USAGE_EXIT`].
    pub fn parse_or_exit() -> Cli {
        match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { USAGE_EXIT } else { 0 };
                let _ = e.print();
                std::process::exit(code);
            }
        }
    }
}

/// Where hosts come from.
#[derive(Debug, Clone, Args, Default)]
pub struct InventoryArgs {
    /// Inventory file or directory (repeatable). Default: `inventory` in dr.toml.
    #[arg(short = 'i', long = "inventory", value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// Only these hosts: an Ansible host pattern (`management`, `akira-db-*`, `all:!db`, `@file`).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
}

/// Vault keys.
#[derive(Debug, Clone, Args, Default)]
pub struct VaultArgs {
    /// File holding the vault passphrase (else DR_VAULT_PASSWORD_FILE, dr.toml, or a prompt).
    #[arg(long, value_name = "FILE", env = "DR_VAULT_PASSWORD_FILE")]
    pub vault_password_file: Option<PathBuf>,
    /// age identity file for the vault (repeatable).
    #[arg(long, value_name = "FILE")]
    pub vault_identity: Vec<PathBuf>,
}

/// Arguments of `plan` (and the shared part of `apply`).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Playbook files, run in order.
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// Inventory and --limit.
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Extra vars, highest precedence: `key=value` or `@file.yml` (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Only run tasks with these tags (comma-separated, repeatable).
    #[arg(short = 't', long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long, value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Start at the first task with this name (or shell pattern, also matched against
    /// `role : name`), as ansible-playbook's --start-at-task: the plays before it run
    /// nothing, the tasks before it in its play are left out (fact gathering stays).
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Run notified handlers even on hosts whose play failed (as the play keyword
    /// `force_handlers: true`).
    #[arg(long)]
    pub force_handlers: bool,
    /// Nodes run at once (default: dr.toml, else 50).
    #[arg(short = 'f', long)]
    pub forks: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: RunFormat,
    /// List the tasks `--tags`/`--skip-tags` select, with their tags, as
    /// `ansible-playbook --list-tasks` does; run nothing.
    #[arg(long)]
    pub list_tasks: bool,
    /// List the tags of the tasks `--tags`/`--skip-tags` select, as
    /// `ansible-playbook --list-tags` does; run nothing.
    #[arg(long)]
    pub list_tags: bool,
    /// List each play's hosts, as `ansible-playbook --list-hosts` does; run nothing.
    #[arg(long)]
    pub list_hosts: bool,
    /// Vault keys.
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Record unknown host keys on first contact (like StrictHostKeyChecking=accept-new).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Private key file for SSH (else ssh-agent and the usual ~/.ssh keys).
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Seconds to wait for an SSH connection.
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<u64>,
    /// Connection for hosts whose inventory and play do not say (`ansible_connection`,
    /// `connection:`), as ansible-playbook's -c: `ssh` (the default) or `local`.
    #[arg(short = 'c', long, value_name = "TYPE", value_parser = ["ssh", "local"])]
    pub connection: Option<String>,
    /// Escalate (sudo) in every play that does not say `become: false`, as
    /// ansible-playbook's -b; also `ANSIBLE_BECOME` or ansible.cfg's `become = True`.
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// The user `become` escalates to where the playbook names none (default root), as
    /// ansible-playbook's --become-user.
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,
    /// Clear the fact cache of every inventory host (and `localhost`) before running, as
    /// ansible-playbook's --flush-cache (with `ANSIBLE_CACHE_PLUGIN=jsonfile` or
    /// ansible.cfg's `fact_caching = jsonfile`; without a cache there is nothing to clear).
    #[arg(long)]
    pub flush_cache: bool,
}

/// Arguments of `apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// What to run, and how.
    #[command(flatten)]
    pub run: RunArgs,
    /// Show diffs of what changes while applying.
    #[arg(long)]
    pub diff: bool,
    /// Do not ask before destructive steps.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Same as `dr plan` (for Ansible users).
    #[arg(short = 'C', long)]
    pub check: bool,
}

/// Arguments of `graph`.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Playbook files.
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// Inventory and --limit.
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Extra vars, for templated `hosts:` (`key=value` or `@file.yml`).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: GraphFormat,
}

/// `dr inventory ...`.
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Hosts with their groups and merged vars (`--format json` matches `ansible-inventory --list`).
    List {
        /// Inventory and --limit.
        #[command(flatten)]
        inventory: InventoryArgs,
        /// Vault keys, for vaulted group_vars/host_vars.
        #[command(flatten)]
        vault: VaultArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The group tree, like `ansible-inventory --graph`.
    Graph {
        /// Inventory and --limit.
        #[command(flatten)]
        inventory: InventoryArgs,
        /// Start from this group.
        group: Option<String>,
    },
    /// One host's merged vars (vault values masked).
    Host {
        /// Inventory.
        #[command(flatten)]
        inventory: InventoryArgs,
        /// Vault keys.
        #[command(flatten)]
        vault: VaultArgs,
        /// Host name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Arguments of `report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A journal file, or the start of a journal's file name under `.dr/runs/` (its UTC
    /// start time, e.g. `20261129T101500`); default: the latest run, plan or apply.
    #[arg(conflicts_with = "history")]
    pub run: Option<String>,
    /// Output format: `text` (Markdown, also `md`), `json`, or `prometheus`
    /// (node_exporter textfile-collector metrics from every journal: last run, last success,
    /// last RTO and RPO and their targets per playbook, the age of the last backup run).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Every run in the journal directory, one row each, oldest first: start, playbook,
    /// mode, RTO, RPO, result (with `--format json`: an array). A journal that cannot be
    /// read is listed with the reason.
    #[arg(long)]
    pub history: bool,
    /// The findings list tasks that took, and sync-point waits that lasted, at least this
    /// many seconds (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub slow: Option<f64>,
}

/// Output format of `dr report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    /// Markdown, for people and tickets.
    #[default]
    #[value(alias = "md")]
    Text,
    /// JSON (one document; with `--history`, an array; see the README for the schema).
    Json,
    /// node_exporter textfile-collector metrics (Prometheus exposition format) over every
    /// journal: write them to `<dir>/dr.prom` from cron.
    Prometheus,
}
