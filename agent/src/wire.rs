//! Both ends of the wire: what the controller sends to an agent, and what the agent streams back.
//!
//! One [`Request`] carries a whole play for one host (one DAG node). The agent answers with a
//! stream of [`Event`]s, one JSON object per line, ending with [`Event::Finished`]. The local
//! connection passes the same values in process; the SSH transport serialises them.
//!
//! On the agent's stdin the request is one line of JSON; stdin then stays open as the
//! control channel: [`Control`] messages, one per line. Its end (EOF, or a failed write on
//! stdout) means the controller is gone: the agent kills what it started and exits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of this protocol; a controller refuses an agent that speaks another.
/// 2: the request is one line and stdin stays open for [`Control`] messages.
/// 3: sync points ([`Event::Sync`], answered by [`Control::Answer`]).
/// 4: settle points after a task (`any_errors_fatal`, `max_fail_percentage`, `end_play`).
/// 5: controller lookups asked for while the play runs ([`SyncPoint::Lookup`]).
/// 6: the run's `hostvars` travel beside `vars` ([`Request::hostvars`]).
/// 7: a `when` item may be a YAML boolean ([`Condition`]).
/// 8: privilege escalation is decided per task by the agent ([`Task::become_`],
///    [`Play::become_`], [`Request::agent_user`]).
/// 9: a string value may stand for bytes (`!!binary`, [`crate::pybytes`]).
/// 10: inline-vaulted values travel marked ([`Request::vaulted`]).
/// 11: `throttle` ([`Task::throttle`], [`SyncPoint::Throttle`], [`SyncPoint::Release`]);
///     a task's `remote_user`/`port`/`connection` are checked against the connection the
///     agent was reached by ([`Task::connection`], [`Request::login`]).
/// 12: a module name written as a fact's template ([`Task::module_template`]); the shared
///     `hostvars` travel packed: gzip in base64 ([`SharedVars`]).
/// 13: `groups` and the play's host lists travel shared by a batch's requests
///     ([`Request::play_vars`]).
pub const PROTOCOL_VERSION: u32 = 13;

/// What the controller sends on the agent's stdin after the request, one JSON line each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// Finish the running task, start no other; the play ends marked `interrupted`.
    Stop,
    /// The controller is still there (sent every [`PING_EVERY_SECS`]); an agent that hears
    /// nothing for [`SILENCE_LIMIT_SECS`] treats the controller as gone.
    Ping,
    /// The answer to the agent's pending [`Event::Sync`].
    Answer {
        /// The answer.
        answer: Box<Answer>,
    },
}

/// How often the controller pings a running agent.
pub const PING_EVERY_SECS: u64 = 5;

/// How long an agent waits without hearing from its controller before it kills what it
/// started and exits (a cut network closes nothing, so silence is the only sign).
pub const SILENCE_LIMIT_SECS: u64 = 20;

impl Control {
    /// Encodes the message as one line, newline included.
    pub fn to_line(&self) -> String {
        match serde_json::to_string(&self) {
            Ok(mut line) => {
                line.push('\n');
                line
            }
            // A unit variant always encodes; keep a literal as the fallback, not a panic.
            Err(_) => "{\"control\":\"ping\"}\n".into(),
        }
    }
}

/// Check mode plans and reports; apply mode changes the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Read state, report what would change, change nothing (`dr plan`).
    Check,
    /// Change the host (`dr apply`).
    Apply,
}

/// A whole play for one host: everything the agent needs, in one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Must equal [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The inventory name of the host (`inventory_hostname`).
    pub host: String,
    /// Check or apply.
    pub mode: Mode,
    /// Whether modules should compute and send diffs.
    pub diff: bool,
    /// Ansible's diff mode (`--diff`; a plan): what `ansible_diff_mode` and the `diff` key of
    /// a module's result follow. `diff` may be on without it (`--format json` shows diffs).
    #[serde(default)]
    pub diff_mode: bool,
    /// The play to run.
    pub play: Play,
    /// Variables for this host, already merged by the controller in Ansible's precedence
    /// (inventory < play vars < vars_files < extra vars). Values may still hold templates;
    /// the agent renders them lazily when used. Magic variables (`groups`, `group_names`,
    /// `inventory_hostname`, `playbook_dir`) are included here; `hostvars` comes in
    /// [`Request::hostvars`] (`vars` may hold a null in its place).
    pub vars: serde_json::Map<String, Value>,
    /// The run's `hostvars` as this host's play starts (every host's inventory and magic
    /// variables, with the facts and results of the plays before), the same map in every
    /// request that shares it; the agent puts it in `vars` as `hostvars`. `None` when
    /// `vars` holds its own (a delegated task's request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostvars: Option<SharedVars>,
    /// The variables every host of the play's batch has alike: `groups`,
    /// `ansible_play_hosts`, `ansible_play_hosts_all`, `ansible_play_batch` (lists of host
    /// names), the same map in every request of the batch; the agent puts each in `vars`,
    /// in the place a null keeps there. They beat every other variable, extra vars
    /// included, as Ansible's magic variables do. `None`: `vars` holds its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_vars: Option<SharedVars>,
    /// The names in `vars` that came from extra vars (`-e`): they beat every other variable,
    /// task vars and facts included, as in Ansible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_vars: Vec<String>,
    /// Why the host could not be reached, when the play ignores that
    /// (`ignore_unreachable`): the engine then runs on the controller, and each task that
    /// needs the host ([`crate::engine::controller_side`] says which do not) is
    /// unreachable there and ignored, as in Ansible, where every task tries to connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// The Python filter and test plugins the play may use (`filter_plugins/`,
    /// `test_plugins/`): the controller runs them.
    #[serde(
        default,
        skip_serializing_if = "crate::template::python_plugins::PythonPlugins::is_empty"
    )]
    pub python_plugins: crate::template::python_plugins::PythonPlugins,
    /// Contents of controller-side files the play refers to (`copy: src=`, `template: src=`),
    /// keyed by the `src` value as the agent will see it after rendering. The controller
    /// renders `src` with the host's vars (and each loop item) before reading the file.
    pub files: BTreeMap<String, FileContent>,
    /// Only tasks with one of these tags run (empty = all). `always` runs unless skipped.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Tasks with one of these tags are skipped.
    #[serde(default)]
    pub skip_tags: Vec<String>,
    /// Facts and registered results this host got in earlier plays of the run: they
    /// persist for the host, as in Ansible (above play vars, below extra vars).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub facts: serde_json::Map<String, Value>,
    /// Facts gathered from the host in earlier plays (`setup`, a module's `ansible_facts`):
    /// they rank below play vars, and below `facts` of the same name, as in Ansible.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub host_facts: serde_json::Map<String, Value>,
    /// The names `vars` has from the play's level or above (play `vars`, `vars_files`, role
    /// vars): a fact gathered from the host does not override them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub above_facts: Vec<String>,
    /// Secret values (vault values and the like) that must never leave the agent unmasked:
    /// every message, diff and registered output is masked before it is sent.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The plaintexts of the inline `!vault` values among `secrets` (Ansible's
    /// `VaultedValue`s): a variable holding one is data, never a template, as in Ansible.
    #[serde(default)]
    pub vaulted: Vec<String>,
    /// The operator agreed to the run's destructive steps (`--yes`, or a confirmed prompt).
    /// Without it the agent refuses a destructive change it finds only on the host
    /// (removing a non-empty directory), naming what it would have destroyed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consent: bool,
    /// Payloads of the bridged modules the play uses (SHA-256 → base64 zip of Ansible's
    /// module code), each sent once per host and run, then cached there by its hash.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bridged: BTreeMap<String, String>,
    /// Lookups that run on the controller (`lookup('file', ...)`, `with_fileglob`, ...),
    /// resolved for this host before the run, keyed by [`lookup_key`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<String, LookupAnswer>,
    /// Send what Ansible's stdout callback is given: each task's banner title
    /// ([`Event::TaskStart`]'s `title`) and each result as Ansible's result dictionary
    /// ([`Event::TaskResult`]'s `result`), for `--format ansible`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callback: bool,
    /// With `callback`: results also carry the arguments each module ran with
    /// (`invocation.module_args`, ansible-playbook's `-vvv`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invocation: bool,
    /// Notifying a handler that does not exist only warns (Ansible's
    /// `ERROR_ON_MISSING_HANDLER = false`); by default it fails the task.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_handler_warns: bool,
    /// Ansible's `ALLOW_BROKEN_CONDITIONALS`: a conditional whose result is not a boolean is
    /// its truthiness, with a deprecation (by default it is an error).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_broken_conditionals: bool,
    /// The user the transport started the agent as through `sudo` (`None`: the login user,
    /// and always so on the local connection). Set by the transport, which alone knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_user: Option<String>,
    /// How the agent was reached; set by the transport. A task's connection keywords
    /// ([`Task::connection`]) must name the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    /// The connection variables `vars` holds only because the play's keywords
    /// (`remote_user`, `port`, `connection`) set them: a task's keyword wins over those,
    /// while a variable set anywhere else wins over the task's keyword, as in Ansible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyword_connection: Vec<String>,
}

/// How a host's agent was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "connection", rename_all = "snake_case")]
pub enum Login {
    /// On the controller itself (`ansible_connection: local`).
    Local,
    /// Over SSH, as `user` on `port`.
    Ssh {
        /// The login user.
        user: String,
        /// The port.
        port: u16,
    },
}

/// What a controller-side lookup gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupAnswer {
    /// The plugin's list of values.
    Values(Vec<Value>),
    /// The plugin failed with this message (raised where the lookup is used, unless
    /// `errors=warn|ignore`, as in Ansible).
    Error(String),
    /// The `template` lookup's files, one per term, rendered where the lookup is used with
    /// the variables there (the host's, registered results and loop items included).
    Templates(Vec<TemplateFile>),
}

/// A template file the `template` lookup found on the controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateFile {
    /// The name the lookup was given.
    pub name: String,
    /// Where it was read on the controller.
    pub origin: String,
    /// Its text.
    pub source: String,
    /// Its host, owner and modification time (`template_host`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<FileMeta>,
    /// The templates it includes, imports or extends, by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub templates: std::collections::BTreeMap<String, String>,
}

/// The key of a lookup call in [`Request::lookups`]: the plugin name, its terms and its
/// keyword arguments (object keys sorted, so both ends agree whatever the order).
pub fn lookup_key(name: &str, terms: &[Value], kwargs: &serde_json::Map<String, Value>) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canonical(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let key = serde_json::json!([name, terms, kwargs]);
    canonical(&key).to_string()
}

mod condition;
mod file_content;
mod request_line;
mod shared_vars;
mod sync;
mod throttle;
pub use condition::Condition;
pub use file_content::{FileContent, FileMeta, TreeLink, TreeListing, as_written_key};
pub use shared_vars::SharedVars;
pub use sync::{
    Active, Answer, Delegation, InventoryChange, LookupCall, Settle, Settled, Shared, SyncPoint,
};
pub use throttle::{Throttle, ThrottleError};

/// A play as the agent runs it: tasks then notified handlers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Play {
    /// The play's name, for messages.
    pub name: String,
    /// Tasks in order: roles, imports and static includes already flattened by the
    /// controller; blocks and dynamic includes stay nodes of the tree (see [`Task::kind`]).
    /// Shared by the requests of the hosts whose tasks are the same (the controller renders
    /// some things per host first, see `shared_tasks` there).
    #[serde(with = "shared_list")]
    pub tasks: std::sync::Arc<Vec<Task>>,
    /// Handlers in definition order (role handlers included); shared as `tasks` are.
    #[serde(default, with = "shared_list")]
    pub handlers: std::sync::Arc<Vec<Task>>,
    /// `force_handlers`: notified handlers still run on a host whose play failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_handlers: bool,
    /// `max_fail_percentage`: after each task, the batch's hosts settle
    /// ([`SyncPoint::Settle`]); past this share of failed hosts, every host of the batch
    /// fails, as in Ansible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fail_percentage: Option<f64>,
    /// The user the play's `become`/`become_user` keywords escalate to (`None` without
    /// `become`): with the host's `ansible_become*` variables, who the agent is started as.
    #[serde(default, rename = "become", skip_serializing_if = "Option::is_none")]
    pub become_: Option<String>,
    /// The play's `become_method` as written (`None`: sudo); the host's
    /// `ansible_become_method` overrides it when the agent is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_method: Option<String>,
}

/// What a node of the task tree is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A module call.
    #[default]
    Module,
    /// `block`/`rescue`/`always`: runs `block`; on a failure runs `rescue` (which makes the
    /// host ok again when it succeeds); runs `always` in every case. Its keywords were
    /// already pushed down to its tasks by the controller.
    Block,
    /// A dynamic include (`include_tasks`, `include_role`): `when`, `loop` and tags are
    /// evaluated once for the include itself (per item when looping), then `block` runs
    /// with the loop variable and the include's `vars` in scope.
    Include,
}

/// One task: a module call plus Ansible's task keywords. Keyword values that are
/// templates/expressions are kept as written; the agent evaluates them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Task {
    /// Display name; when absent the agent shows the module name and its main argument.
    #[serde(default)]
    pub name: Option<String>,
    /// Module name, short form (`copy`, not `ansible.builtin.copy`).
    pub module: String,
    /// The module as the task names it, when that is not `module` (`ansible.builtin.copy`,
    /// `gather_facts`): what Ansible shows for a task without a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The module name as written when it is a template of a fact that names a module
    /// (`action: "{{ ansible_facts.pkg_mgr }}"`): [`Task::module`] is what it renders to on
    /// the hosts dr serves, and the agent fails the task when it renders to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_template: Option<String>,
    /// Module arguments: a mapping, or a string for free-form modules (`command: echo hi`).
    #[serde(default)]
    pub args: Value,
    /// Where the task is defined, `file:line:col`, for messages.
    pub location: String,
    /// Conditions, all of which must hold (Jinja expressions without braces, or YAML
    /// booleans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    /// `loop:` / `with_items:` value (a list or a template producing one).
    #[serde(default, alias = "loop", skip_serializing_if = "Option::is_none")]
    pub loop_: Option<Value>,
    /// `with_<lookup>:`: the loop's items are what this lookup gives for the terms in
    /// [`Task::loop_`] (`with_items` is the `items` lookup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_with: Option<String>,
    /// `loop_control.label`: how each item is shown in events (a template, rendered with
    /// the item). Without it the whole item is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_label: Option<String>,
    /// `loop_control.loop_var` (default `item`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_var: Option<String>,
    /// Variable the result is registered as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// Handler names (or `listen` topics) to notify when the task changes something.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// `listen:` topics, on handlers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<String>,
    /// `changed_when:` expressions (all must hold), or a literal bool as "true"/"false".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_when: Vec<String>,
    /// `failed_when:` expressions; the task failed when all hold (a list is joined with
    /// `and`, as in Ansible).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_when: Vec<String>,
    /// Keep going when the task fails.
    #[serde(default)]
    pub ignore_errors: bool,
    /// `ignore_errors:` written as a template (`"{{ tolerate }}"`): rendered with the
    /// task's variables when it starts (Ansible validates the keyword then) and read as
    /// a boolean; it then decides in place of [`Task::ignore_errors`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_errors_when: Option<String>,
    /// `until:` expression, retried up to `retries` times with `delay` seconds between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Retries for `until` (Ansible's default is 3): a number, or a template rendering to
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Value>,
    /// Seconds between retries (Ansible's default is 5): a number, or a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Value>,
    /// Output of this task is censored everywhere.
    #[serde(default)]
    pub no_log: bool,
    /// `no_log:` written as a template: the agent renders it when the task starts and reads
    /// a boolean; it then decides in place of [`Task::no_log`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_log_when: Option<String>,
    /// Tags for `--tags` / `--skip-tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `check_mode: false` runs the task for real even in check mode; `true` forces check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_mode: Option<bool>,
    /// Task-level vars.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: serde_json::Map<String, Value>,
    /// The `defaults/` of the role an `include_role` (not `public`) loaded, which only its
    /// own tasks see: below every other variable.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub role_defaults: serde_json::Map<String, Value>,
    /// A `public` `include_role`'s role defaults: from when it runs, every later task of
    /// the host sees them, below every other variable.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub public_defaults: serde_json::Map<String, Value>,
    /// The same for its role vars, which rank as role vars.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub public_vars: serde_json::Map<String, Value>,
    /// `timeout:` in seconds: a command still running then is killed and the task fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// `async:` in seconds (a number, or a template rendering to one): the command runs as
    /// a job with this time limit (Ansible's `async_wrapper`); 0 or absent runs it in the
    /// foreground.
    #[serde(
        default,
        rename = "async",
        alias = "async_",
        skip_serializing_if = "Option::is_none"
    )]
    pub async_: Option<Value>,
    /// `poll:` seconds between status checks of an async job (Ansible's default 15); 0
    /// starts the job and moves on, leaving it to `async_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Value>,
    /// `environment:` for command-like modules.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub environment: serde_json::Map<String, Value>,
    /// The user this task's `become`/`become_user` keywords (its own, its block's, role's
    /// or play's) escalate to; `None` without `become`. The host's `ansible_become*`
    /// variables override them when the task runs, as in Ansible ([`crate::engine`]'s
    /// `become_` decides who the task runs as).
    #[serde(default, rename = "become", skip_serializing_if = "Option::is_none")]
    pub become_: Option<String>,
    /// `become_method` as written (its own, its block's, role's or play's); `None` is
    /// sudo. The host's `ansible_become_method` overrides it when the task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_method: Option<String>,
    /// `remote_user`, `port` and `connection` of the task (its own, its block's or role's;
    /// the play's are variables), keyword to value as written. dr reaches a host once per
    /// play, so the agent runs the task only when they name how it was reached.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub connection: serde_json::Map<String, Value>,
    /// `diff:` for this task; `None` follows the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<bool>,
    /// A module call, a block, or a dynamic include.
    #[serde(default, skip_serializing_if = "is_module")]
    pub kind: TaskKind,
    /// The tasks of a block (or an include's tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<Task>,
    /// A block's `rescue:` tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rescue: Vec<Task>,
    /// A block's `always:` tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always: Vec<Task>,
    /// An include whose file name is a template (`include_tasks: "{{ os }}.yml"`): the
    /// agent renders it (per loop item) and runs the child block of `block` named as the
    /// result. The controller ships one child block per file name it could resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_file: Option<String>,
    /// `ignore_unreachable`: the controller connects once per play and host, so it honours
    /// this for the host only when every task of the play has it; a delegated task connects
    /// on its own, and its unreachable result is ignored when it has it (else the host
    /// stops, whatever `ignore_errors` says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_unreachable: bool,
    /// A handler of a role an `include_role` loads: that include's location. As in
    /// Ansible, it answers notifications only once the include has run on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    /// Added by the controller, not written by the user (the handler flushes Ansible runs
    /// after each section of a play): runs without events or counts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
    /// `loop_control.index_var`: the variable holding the item's index (from 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_var: Option<String>,
    /// `loop_control.pause`: seconds to wait between items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_pause: Option<f64>,
    /// `loop_control.break_when`: conditions checked after each item; the loop stops when
    /// all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_when: Vec<String>,
    /// `loop_control.extended`: `ansible_loop` is set only when true (as in Ansible).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loop_extended: bool,
    /// `loop_control.extended_allitems: false`: `ansible_loop.allitems` is left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loop_without_allitems: bool,
    /// `delegate_to:` (a template): each item runs on that host, with this host's
    /// variables ([`SyncPoint::Delegate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate_to: Option<String>,
    /// `delegate_facts:` the facts a delegated task sets go to the host it ran on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delegate_facts: bool,
    /// `run_once:` the first host of the batch runs the task and every host of the batch
    /// takes its result ([`SyncPoint::RunOnce`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_once: bool,
    /// `run_once:` written as a template (`"{{ primary_only }}"`): the controller renders
    /// it with the host's variables when it builds the request and sets [`Task::run_once`]
    /// from it, so it never crosses the wire.
    #[serde(skip)]
    pub run_once_template: Option<String>,
    /// `throttle:` (its own, or its block's, role's or play's): at most this many hosts of
    /// the batch run the task at once; each host takes a slot from the controller before
    /// the task and gives it back after it ([`SyncPoint::Throttle`]). Not honoured on a
    /// `run_once` task or a `meta` task, as in Ansible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    /// Reads other hosts' variables (`hostvars`): the host waits for the batch to come
    /// this far first ([`SyncPoint::Barrier`]). Set by the controller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sync: bool,
    /// The names in `vars` that are role parameters (`- {role: app, port: 80}`): above
    /// facts and registered results, as Ansible's "role params" level. Set by the
    /// controller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// The role instance the task belongs to, when that role runs once per play (a
    /// `roles:` entry or a dependency, without `allow_duplicates`): on a host where an
    /// identical instance already completed (one of its tasks ran), its tasks are skipped
    /// without a trace, as Ansible. Set by the controller, which also ends each instance
    /// with an implicit `meta: role_complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_instance: Option<u32>,
    /// The role expansion a `meta: end_role` ends, and the implicit `meta: role_complete`
    /// that closes it: the tasks between are skipped once `end_role` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_run: Option<u32>,
    /// `any_errors_fatal` (inherited, and the task does not ignore errors): once every host
    /// of the batch ran it, a failure on any of them fails them all
    /// ([`SyncPoint::Settle`]). Set by the controller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_errors_fatal: bool,
}

fn is_module(kind: &TaskKind) -> bool {
    *kind == TaskKind::Module
}

impl Task {
    /// The module as the task names it: what Ansible shows for a task without a name.
    pub fn written_module(&self) -> &str {
        self.action.as_deref().unwrap_or(&self.module)
    }

    /// The action of a `meta` task (`end_play`, `clear_host_errors`, ...), free-form or as
    /// `_raw_params`; `None` for any other module.
    pub fn meta_action(&self) -> Option<&str> {
        if self.module != "meta" {
            return None;
        }
        match &self.args {
            Value::String(s) => Some(s.trim()),
            Value::Object(m) => m.get("_raw_params").and_then(Value::as_str).map(str::trim),
            _ => None,
        }
    }

    /// This task and every task nested in it (blocks, includes), depth first.
    pub fn walk(&self) -> Box<dyn Iterator<Item = &Task> + '_> {
        Box::new(
            std::iter::once(self).chain(
                self.block
                    .iter()
                    .chain(&self.rescue)
                    .chain(&self.always)
                    .flat_map(Task::walk),
            ),
        )
    }

    /// The number of nodes in this subtree (itself included), for depth-first indices.
    pub fn size(&self) -> usize {
        self.walk().count()
    }
}

/// In a task's `args`, the key holding a template that renders to the module's arguments
/// (`assert: "{{ item }}"`); the agent merges the mapping it renders to with the other keys
/// (from `args:`).
pub const ARGS_TEMPLATE_KEY: &str = "_dr_args_template";

/// Keys of [`Task::environment`] that start with this hold a template giving a whole
/// mapping (`environment: "{{ env }}"`), merged at that place when the task runs (the
/// template follows the prefix, so two different templates never share a key).
pub const ENV_TEMPLATE_KEY: &str = "_dr_environment_template:";

/// Outcome of one task (or one loop item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to change.
    Ok,
    /// Changed (apply) or would change (check).
    Changed,
    /// Failed; the play stops on this host unless `ignore_errors`.
    Failed,
    /// `when` was false, or tags excluded it.
    Skipped,
}

/// A diff of one file (or one named piece of state), already masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// What changed: a path, or a label such as `service backend`.
    pub target: String,
    /// Unified diff text with `---`/`+++` headers, or a one-line summary for non-text state
    /// (`mode 0644 -> 0600`, `state absent -> directory`).
    pub text: String,
}

/// Counters for one play on one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Tasks that were ok (no change).
    pub ok: u32,
    /// Tasks that changed (or would).
    pub changed: u32,
    /// Tasks that failed (ignored failures included).
    pub failed: u32,
    /// Tasks skipped.
    pub skipped: u32,
    /// Failures handled by a block's `rescue` (not counted in `failed`).
    #[serde(default)]
    pub rescued: u32,
}

/// What the agent streams back, one JSON object per line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A task (or handler) starts.
    TaskStart {
        /// Depth-first index of the node in `play.tasks` (blocks and includes count as
        /// nodes), or in `play.handlers` when `handler` is true.
        index: usize,
        /// Whether this is a handler.
        #[serde(default)]
        handler: bool,
        /// Rendered display name.
        name: String,
        /// Ansible's banner title (`role : name`, the action for an unnamed task), when
        /// the request asked for callback data; `None` then for a task Ansible does not
        /// announce (an implicit `meta: flush_handlers`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// A task (or one loop item of it) finished.
    TaskResult {
        /// Same index as in `TaskStart`.
        index: usize,
        /// Whether this is a handler.
        #[serde(default)]
        handler: bool,
        /// Rendered display name.
        name: String,
        /// Loop item label, when looping.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<String>,
        /// Outcome.
        status: Status,
        /// Human message: the reason for no change, what would run, the error.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        msg: String,
        /// Diffs, present when the request asked for diffs and something changed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        diffs: Vec<Diff>,
        /// The result's fields that say what ran and why it failed, masked, under
        /// Ansible's names (`cmd`, `rc`, `stdout`, `stderr`, `assertion`, ...; see
        /// [`crate::detail`]). Empty for `no_log` tasks.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        detail: serde_json::Map<String, Value>,
        /// The failure was ignored (`ignore_errors`).
        #[serde(default)]
        ignored: bool,
        /// Marks a destructive or dangerous step (plan shows it prominently).
        #[serde(default)]
        dangerous: bool,
        /// Milliseconds the task took.
        duration_ms: u64,
        /// The host the task ran on, when not this one (`delegate_to`, `run_once`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on: Option<String>,
        /// The result as Ansible's callback gets it (masked; `_ansible_*` keys included,
        /// and `_dr_*` keys saying what the printer needs: see `engine/callback.rs`), when
        /// the request asked for callback data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Box<serde_json::Map<String, Value>>>,
    },
    /// The play waits for the controller's [`Control::Answer`] (see [`SyncPoint`]); data
    /// for the controller, never shown.
    Sync {
        /// What the host needs.
        point: Box<SyncPoint>,
    },
    /// One of the handler flushes Ansible adds after each section of a play starts, with
    /// handlers notified (Ansible says so in its debug output, `ANSIBLE_DEBUG`).
    Flushing,
    /// Output of `debug`, or a warning.
    Message {
        /// Text, masked.
        text: String,
    },
    /// The play ended on this host. Always the last event.
    Finished {
        /// Counters.
        stats: Stats,
        /// Set when the play failed on this host (the failing task's message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The host's facts and registered results at the end of the play, for the plays
        /// after it (data for the controller, never shown; not masked).
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        facts: serde_json::Map<String, Value>,
        /// The facts gathered from the host (see [`Request::host_facts`]).
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        host_facts: serde_json::Map<String, Value>,
        /// The play was stopped from outside ([`Control::Stop`]) before its end: the task
        /// that was running finished, nothing after it ran.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        interrupted: bool,
        /// Text the play derived from secrets (see `docs/secrets.md`): the controller masks
        /// it too, and passes it on as secrets to the host's later plays (data for the
        /// controller, never shown).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sensitive: Vec<String>,
    },
}

/// A shared list on the wire: the list itself.
mod shared_list {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        list: &Arc<Vec<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        list.as_slice().serialize(s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<Vec<T>>, D::Error> {
        Vec::deserialize(d).map(Arc::new)
    }
}

impl Request {
    /// Encodes the request as one JSON document (what goes on the agent's stdin).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Encodes the request as the first line of the agent's stdin, newline included
    /// (compact JSON has no raw newline: those inside strings are escaped).
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }

    /// The request's variable `name` as the play starts: from [`Request::play_vars`] when
    /// it is one of those, else from [`Request::vars`].
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.play_vars
            .as_ref()
            .and_then(|shared| shared.map().get(name))
            .or_else(|| self.vars.get(name))
    }
}

impl Event {
    /// Encodes the event as one line of JSON, without the newline.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Decodes one line of the agent's output.
    pub fn from_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}
