//! Sync points: where a host's play needs the other hosts of its batch, or another host.
//!
//! A play still costs one connection and one exec per host. Where a task needs data the
//! other hosts of the same play produce (`hostvars[...]`, a `run_once` result) or must run
//! on another host (`delegate_to`), or may run only while few others do (`throttle`), the
//! agent sends an [`Event::Sync`](super::Event) and waits, with the play's state intact,
//! for the controller's [`Answer`] on the control channel. See `docs/cross-host.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Diff, Status, Task};

/// What the agent asks for at a sync point.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "sync", rename_all = "snake_case")]
pub enum SyncPoint {
    /// The host reached the task at depth-first `index`, which reads other hosts' variables:
    /// wait until every host of the batch has come this far (or ended), then answer
    /// [`Answer::Hostvars`]. `facts` are this host's facts and registered results now.
    Barrier {
        /// Depth-first index of the task in the play.
        index: usize,
        /// This host's facts and registered results.
        facts: Map<String, Value>,
    },
    /// The host reached a `run_once` task: the controller answers [`Answer::Run`] to the
    /// first host of the batch still in the play, and [`Answer::Shared`] to the others
    /// once that host sent [`SyncPoint::RanOnce`].
    RunOnce {
        /// Depth-first index of the task in the play (for a handler, of the task whose
        /// flush runs it).
        index: usize,
        /// A handler with `run_once`: its position among the play's handlers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handler: Option<usize>,
        /// This host's facts and registered results.
        facts: Map<String, Value>,
    },
    /// The result of the `run_once` task this host ran for the batch (no answer).
    RanOnce {
        /// Depth-first index of the task in the play (as in [`SyncPoint::RunOnce`]).
        index: usize,
        /// A handler: its position among the play's handlers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handler: Option<usize>,
        /// The task's result, as every host of the batch takes it.
        result: Box<Shared>,
    },
    /// Run one item of a task on another host (`delegate_to`), with this host's variables;
    /// answered by [`Answer::Delegated`].
    Delegate(Box<Delegation>),
    /// The host finished the task at `index`, which settles the batch
    /// (`any_errors_fatal`, `max_fail_percentage`, `meta: end_play`): wait until every host
    /// of the batch has finished it too (or ended), then take [`Answer::Settled`].
    Settle {
        /// Depth-first index of the task in the play.
        index: usize,
        /// What happened to the task here.
        here: Settle,
    },
    /// Write a file `fetch` read on this host to `dest` on the controller; answered by
    /// [`Answer::Fetched`].
    Fetch {
        /// The absolute path on the controller.
        dest: String,
        /// The file, base64.
        content: String,
        /// The failure when `dest` is an existing directory, as Ansible words it for the
        /// way `dest` was written (`flat`, with or without a trailing `/`); absent: dr's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir_msg: Option<String>,
    },
    /// Run a controller lookup the request holds no answer for (its terms depend on what
    /// only the host knew, a fact or a registered result); answered by
    /// [`Answer::Looked`].
    Lookup(Box<LookupCall>),
    /// Change the run's inventory (`add_host`, `group_by`); answered by
    /// [`Answer::Inventory`].
    Inventory {
        /// The change.
        change: InventoryChange,
    },
    /// The host is about to run the task at `index`, which at most `limit` hosts of the
    /// batch run at once (`throttle`): answered by [`Answer::Go`] once the host holds one
    /// of the task's slots (first come, first served). The host gives it back with
    /// [`SyncPoint::Release`] after the task, whatever its outcome; the controller takes
    /// it back too when the host's play ends.
    Throttle {
        /// Depth-first index of the task in the play, or a handler's position among the
        /// play's handlers (as in [`super::Event::TaskStart`]).
        index: usize,
        /// The task is a handler (or a task a handler includes).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        handler: bool,
        /// How many hosts may hold a slot at once (at least 1).
        limit: u32,
    },
    /// The throttled task at `index` finished here: its slot is free (no answer).
    Release {
        /// As in [`SyncPoint::Throttle`].
        index: usize,
        /// As in [`SyncPoint::Throttle`].
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        handler: bool,
    },
}

/// A controller lookup to run for a task, with the variables the task sees (the `template`
/// and `vars`-reading lookups render with them; a role's and the task's location choose
/// the search path).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LookupCall {
    /// The plugin.
    pub name: String,
    /// Its terms.
    pub terms: Vec<Value>,
    /// Its keyword arguments.
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    /// The task, without its children.
    pub task: Task,
    /// The task's variables.
    pub vars: Map<String, Value>,
}

/// What a task did on one host, as the batch settles it ([`SyncPoint::Settle`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settle {
    /// The task failed here (rescued or not; not when its errors are ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// `meta: end_play` ran here: the play ends for every host of the batch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end_play: bool,
    /// `meta: end_batch` ran here: the batch ends for every host of it; the next batch
    /// runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end_batch: bool,
    /// `meta: clear_host_errors` ran here: the batch's hosts that failed so far go on in
    /// the plays after this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_host_errors: bool,
    /// The task is `any_errors_fatal`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_errors_fatal: bool,
    /// The play's `max_fail_percentage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fail_percentage: Option<f64>,
}

/// How the batch settled a task ([`Answer::Settled`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum Settled {
    /// Go on.
    Go,
    /// Go on: `meta: clear_host_errors` took back this host's failure so far (a block's,
    /// when the task is in its `always`).
    Cleared,
    /// Every host of the batch fails here (`any_errors_fatal`, `max_fail_percentage`),
    /// with this message.
    Fail {
        /// Why.
        msg: String,
    },
    /// `meta: end_play` (or `end_batch`) ran on a host of the batch: the play ends here for
    /// every host of the batch.
    End {
        /// The host that ended it.
        by: String,
    },
}

/// A change to the run's in-memory inventory, as Ansible's `add_host` and `group_by` make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum InventoryChange {
    /// `add_host`: the host (created if new), its groups (created if new), its variables.
    AddHost {
        /// Inventory name.
        name: String,
        /// Groups it joins.
        groups: Vec<String>,
        /// Variables set on it.
        vars: Map<String, Value>,
    },
    /// `group_by`: this host joins `key` (created if new, a child of `parents`).
    GroupBy {
        /// The group.
        key: String,
        /// Its parent groups.
        parents: Vec<String>,
    },
    /// `meta: refresh_inventory`: the inventory sources are read again (the hosts and
    /// groups `add_host`/`group_by` made are kept, as in Ansible).
    Refresh,
}

/// One delegated run: the task (its `when` and loop already evaluated by the delegating
/// host) and the variables it runs with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delegation {
    /// The host the task runs on (`delegate_to`, rendered).
    pub to: String,
    /// The task, without `when`, loop or delegation.
    pub task: Task,
    /// The delegating host's variables for this item (task and loop variables included).
    pub vars: Map<String, Value>,
    /// The names in `vars` that hold data (facts, registered results, loop items): never
    /// rendered again.
    pub raw: Vec<String>,
    /// The task runs on this same host over a connection of its own, made with the
    /// connection variables in `vars` (its `vars` or a `set_fact` changed them: Ansible
    /// connects again for it); else with the delegated host's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnect: bool,
}

/// A task's result as another host takes it: the shown outcome and the raw data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shared {
    /// Outcome.
    pub status: Status,
    /// Masked message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// Masked detail (see [`crate::detail`]).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub detail: Map<String, Value>,
    /// Masked diffs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<Diff>,
    /// A destructive step.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dangerous: bool,
    /// What `register:` stores (raw).
    #[serde(default)]
    pub register: Map<String, Value>,
    /// Facts the task set (raw).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub facts: Map<String, Value>,
    /// Host facts the task set (gathered, or a cacheable `set_fact`'s), which rank below
    /// play vars and go to the fact cache; a `run_once` task sets them on every host of
    /// the batch. (A delegated result has them in `facts`: the task's module says which.)
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub host_facts: Map<String, Value>,
    /// The host the task ran on.
    pub on: String,
}

impl Shared {
    /// The host `on` could not be reached (a delegated task's connection failed):
    /// Ansible's unreachable result.
    pub fn unreachable(on: &str, msg: String) -> Self {
        let mut shared = Shared::failed(on, msg);
        shared.register.remove("failed");
        shared
            .register
            .insert("unreachable".into(), Value::Bool(true));
        shared
    }

    /// A failure that happened on (or for) host `on`, with `msg`, as every host takes it.
    pub fn failed(on: &str, msg: String) -> Self {
        let mut register = Map::new();
        register.insert("changed".into(), Value::Bool(false));
        register.insert("failed".into(), Value::Bool(true));
        register.insert("msg".into(), Value::from(msg.clone()));
        Shared {
            status: Status::Failed,
            msg,
            detail: Map::new(),
            diffs: Vec::new(),
            dangerous: false,
            register,
            facts: Map::new(),
            host_facts: Map::new(),
            on: on.to_owned(),
        }
    }
}

/// The controller's answer to a [`SyncPoint`], on the control channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// Every host of the batch is at the barrier or past it: their facts and registered
    /// results now, by host (this host's own included).
    Hostvars {
        /// Facts by host.
        hosts: Map<String, Value>,
        /// The hosts still in the play.
        active: Active,
    },
    /// Run the `run_once` task for the whole batch, then send [`SyncPoint::RanOnce`].
    Run {
        /// Facts by host, as for [`Answer::Hostvars`].
        hosts: Map<String, Value>,
        /// The hosts still in the play.
        active: Active,
    },
    /// The `run_once` task ran on another host: take its result.
    Shared {
        /// The result.
        result: Shared,
        /// Facts by host, as for [`Answer::Hostvars`].
        hosts: Map<String, Value>,
        /// The hosts still in the play.
        active: Active,
    },
    /// The delegated item's result (or why it could not run, as a failed result).
    Delegated {
        /// The result.
        result: Shared,
    },
    /// The inventory after an [`InventoryChange`].
    Inventory {
        /// Whether it changed anything.
        changed: bool,
        /// `groups`, as it is now.
        groups: Value,
        /// `hostvars` entries of the hosts the change touched (their variables and
        /// `group_names`).
        hosts: Map<String, Value>,
        /// This host's variables that the change gave new values (the `group_vars/` of a
        /// group it joined), at their precedence.
        #[serde(default)]
        vars: Map<String, Value>,
    },
    /// What the controller lookup gave ([`SyncPoint::Lookup`]).
    Looked {
        /// Its values or its error.
        gave: crate::wire::LookupAnswer,
    },
    /// The controller wrote (or already had) the fetched file ([`SyncPoint::Fetch`]).
    Fetched {
        /// It wrote it: the file was missing or different.
        changed: bool,
        /// SHA-1 of the file on the controller now.
        checksum: String,
        /// MD5 of it.
        md5sum: String,
    },
    /// How the batch settled the task ([`SyncPoint::Settle`]).
    Settled {
        /// What every host does next.
        then: Settled,
    },
    /// Run the throttled task now: the host holds one of its slots ([`SyncPoint::Throttle`]).
    Go,
    /// The controller could not do what the sync point asked (the task fails with this).
    Failed {
        /// Why.
        msg: String,
    },
    /// The run is stopping: end the play here.
    Stop,
}

/// The hosts of the play that have not failed, as of a sync point: Ansible's
/// `ansible_play_hosts` (the whole play) and `ansible_play_batch` (this `serial` batch).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Active {
    /// `ansible_play_hosts`.
    pub play_hosts: Vec<String>,
    /// `ansible_play_batch`.
    pub play_batch: Vec<String>,
    /// `groups`, when `add_host` or `group_by` changed the inventory during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Value>,
}
