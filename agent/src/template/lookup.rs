//! Ansible's `lookup()`, `query()`/`q()` and `with_<lookup>` loops.
//!
//! Lookups that only transform data (`items`, `dict`, `nested`, ...) and `vars` run where the
//! template is rendered. Lookups that read the controller's world (`file`, `env`, `pipe`,
//! ...) run on the controller, as in Ansible: the controller resolves them for each host
//! before the run and ships the answers in the request ([`crate::wire::Request::lookups`]);
//! a [`Resolver`] gives them to the templates.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde_json::{Map, Value as Json};

use super::lookup_data;
use crate::wire::{LookupAnswer, lookup_key};

/// Lookups that run on the controller (resolved before the run).
pub const CONTROLLER_LOOKUPS: &[&str] = &[
    "env",
    "file",
    "fileglob",
    "first_found",
    "lines",
    "password",
    "pipe",
    "template",
    "unvault",
];

/// Not a lookup users call: a module's request for a controller file the request did not
/// carry (`include_vars` of a file written during the run), answered as a lookup is:
/// terms `[kind, name]` (kind `vars`: the file's variables and its path).
pub const CONTROLLER_FILE: &str = "_dr_controller_file";

/// The option the `first_found` lookup is given when it runs as `with_first_found`.
pub const WITH_MARKER: &str = "_dr_invoked_as_with";

/// Lookups that run where the template is rendered.
pub const DATA_LOOKUPS: &[&str] = &[
    "dict",
    "indexed_items",
    "items",
    "list",
    "nested",
    "sequence",
    "subelements",
    "together",
    "vars",
];

/// The lookup plugin a name refers to: `ansible.builtin.file` and `ansible.legacy.file` are
/// `file`; `None` for a lookup dr does not have.
pub fn plugin(name: &str) -> Option<&'static str> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    CONTROLLER_LOOKUPS
        .iter()
        .chain(DATA_LOOKUPS)
        .find(|p| **p == short)
        .copied()
}

/// Whether lookup `name` is one the controller runs with Python (a `lookup_plugins/`
/// plugin, or ansible-core's own code): it is given the task's variables and may read them
/// (`config`, `varnames`) or answer differently each call (`random_choice`), so its answer
/// holds for one task item only and is never worked out before the play runs.
pub fn reads_vars(name: &str) -> bool {
    plugin(name).is_none()
        && name != CONTROLLER_FILE
        && super::python_plugins::split(name).is_none()
}

/// Gives the answers of controller lookups.
pub trait Resolver: Send + Sync + fmt::Debug {
    /// What lookup `name` (a [`CONTROLLER_LOOKUPS`] entry) gives for these terms.
    fn resolve(&self, name: &str, terms: &[Json], kwargs: &Map<String, Json>) -> LookupAnswer;

    /// The call has no answer yet (it will be asked for): it fails the template whatever
    /// `errors=` says, so that the task runs again with the answer.
    fn is_pending(&self, _name: &str, _terms: &[Json], _kwargs: &Map<String, Json>) -> bool {
        false
    }
}

/// The answers the controller shipped in the request, and those it gave while the play
/// ran. A call neither holds is recorded as pending: the engine asks the controller for it
/// over the live connection ([`Table::take_pending`]) and runs the task again.
#[derive(Debug, Default)]
pub struct Table {
    answers: Mutex<BTreeMap<String, LookupAnswer>>,
    /// The answers of lookups that read the task's variables ([`reads_vars`]), good for
    /// the task item being run only.
    item_answers: Mutex<BTreeMap<String, LookupAnswer>>,
    pending: Mutex<Vec<Call>>,
    /// A module acted since [`Table::begin`]: what failed after it may not run again.
    acted: Mutex<bool>,
}

/// Why [`Table::controller_file`] has no file.
#[derive(Debug)]
pub enum NoFile {
    /// Not asked for yet: the engine asks the controller, then runs the task again.
    Pending(String),
    /// The controller could not give it.
    Failed(String),
}

/// A controller lookup a template called that no answer covers yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The plugin.
    pub name: String,
    /// Its terms.
    pub terms: Vec<Json>,
    /// Its keyword arguments.
    pub kwargs: Map<String, Json>,
}

impl Table {
    /// The answers shipped in the request.
    pub fn new(answers: BTreeMap<String, LookupAnswer>) -> Self {
        Table {
            answers: Mutex::new(answers),
            item_answers: Mutex::default(),
            pending: Mutex::default(),
            acted: Mutex::default(),
        }
    }

    /// A new task item (or engine render) starts: the answers of lookups that read the
    /// variables are forgotten, for its variables may differ.
    pub fn new_item(&self) {
        lock(&self.item_answers).clear();
        lock(&self.pending).clear();
    }

    /// A task item starts, or starts again once the controller answered: no call is
    /// pending, no module has acted.
    pub fn begin(&self) {
        lock(&self.pending).clear();
        *lock(&self.acted) = false;
    }

    /// A module acted (it ran and did not fail): the item must not run again.
    pub fn acted(&self) {
        *lock(&self.acted) = true;
    }

    /// No module acted since [`Table::begin`]: the item may run again once its pending
    /// calls are answered.
    pub fn may_rerun(&self) -> bool {
        !*lock(&self.acted)
    }

    /// The calls no answer covered since the last time, oldest first.
    pub fn take_pending(&self) -> Vec<Call> {
        std::mem::take(&mut *lock(&self.pending))
    }

    /// A controller file the request did not carry ([`CONTROLLER_FILE`], `kind` `vars`,
    /// `files` or `templates`): what the controller answered, or why there is none.
    pub fn controller_file(&self, kind: &str, name: &str) -> Result<Vec<Json>, NoFile> {
        let terms = [Json::from(kind), Json::from(name)];
        match self.resolve(CONTROLLER_FILE, &terms, &Map::new()) {
            LookupAnswer::Values(values) => Ok(values),
            LookupAnswer::Error(msg) if self.is_pending(CONTROLLER_FILE, &terms, &Map::new()) => {
                Err(NoFile::Pending(msg))
            }
            LookupAnswer::Error(msg) => Err(NoFile::Failed(msg)),
            LookupAnswer::Templates(_) => Err(NoFile::Failed(
                "the controller answered a file request with templates".into(),
            )),
        }
    }

    /// Keeps the controller's answer to `call`.
    pub fn answer(&self, call: &Call, answer: LookupAnswer) {
        let key = lookup_key(&call.name, &call.terms, &call.kwargs);
        if reads_vars(&call.name) {
            lock(&self.item_answers).insert(key, answer);
        } else {
            lock(&self.answers).insert(key, answer);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Resolver for Table {
    fn resolve(&self, name: &str, terms: &[Json], kwargs: &Map<String, Json>) -> LookupAnswer {
        let key = lookup_key(name, terms, kwargs);
        let answers = if reads_vars(name) {
            lock(&self.item_answers)
        } else {
            lock(&self.answers)
        };
        if let Some(answer) = answers.get(&key) {
            return answer.clone();
        }
        drop(answers);
        let call = Call {
            name: name.to_owned(),
            terms: terms.to_vec(),
            kwargs: kwargs.clone(),
        };
        let mut pending = lock(&self.pending);
        if !pending.contains(&call) {
            pending.push(call);
        }
        LookupAnswer::Error(format!(
            "lookup `{name}` with terms {} was not resolved: `{name}` runs on the controller, and this host could not ask it",
            Json::from(terms.to_vec())
        ))
    }

    fn is_pending(&self, name: &str, terms: &[Json], kwargs: &Map<String, Json>) -> bool {
        let call = Call {
            name: name.to_owned(),
            terms: terms.to_vec(),
            kwargs: kwargs.clone(),
        };
        lock(&self.pending).contains(&call)
    }
}

/// Adds `lookup`, `query` and `q` to `env`, answering controller lookups with `resolver`.
pub fn register(env: &mut Environment<'static>, resolver: Arc<dyn Resolver>) {
    for (func, force_list) in [("lookup", false), ("query", true), ("q", true)] {
        let resolver = resolver.clone();
        env.add_function(
            func,
            move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
                call(state, &*resolver, &name, &terms, &kwargs, force_list)
            },
        );
    }
}

fn call(
    state: &State,
    resolver: &dyn Resolver,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
    force_list: bool,
) -> Result<Value, Error> {
    let terms = &super::const_terms::render(state, terms)?;
    let undefined_terms = terms.iter().any(Value::is_undefined);
    if undefined_terms && !reads_vars(name) {
        // As in Ansible, an undefined term makes the lookup's value undefined, so
        // `lookup(...) | default(...)` still works.
        return Ok(Value::UNDEFINED);
    }
    let mut options = Map::new();
    let mut wantlist = force_list;
    let mut errors = String::from("strict");
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        // As an undefined term: the lookup's value is undefined (the variable is named when
        // it is used). `env` takes an undefined `default`, as Ansible's plugin does.
        if value.is_undefined() && !(plugin(name) == Some("env") && key == "default") {
            return Ok(Value::UNDEFINED);
        }
        if value.is_undefined() {
            // `env`'s undefined `default`: given back as the lookup's undefined marker when
            // the variable is not set.
            options.insert(key.to_owned(), undefined_term());
            continue;
        }
        match key {
            "wantlist" => wantlist = wantlist || value.is_true(),
            "errors" => errors = value.to_string(),
            _ => {
                options.insert(key.to_owned(), to_json(&value)?);
            }
        }
    }
    // A Python plugin decides: one that takes undefined values (`accept_args_markers`)
    // is given Ansible's marker for each, any other makes the lookup's value undefined.
    let terms: Vec<Json> = terms
        .iter()
        .map(|t| match t.is_undefined() {
            true => Ok(undefined_term()),
            false => to_json(t),
        })
        .collect::<Result<_, _>>()?;
    let answer = run(name, &terms, &options, resolver, &|var| {
        state
            .lookup(var)
            .filter(|v| !v.is_undefined())
            .map(|v| to_json(&v))
            .transpose()
    })?;
    let values = match answer {
        LookupAnswer::Values(values) => values,
        LookupAnswer::Templates(files) => {
            let rendered = files
                .iter()
                .map(|f| super::lookup_template::render(state, f, &options))
                .collect::<Result<Vec<Value>, Error>>()?;
            return Ok(if wantlist || rendered.len() != 1 {
                Value::from(rendered)
            } else {
                rendered.into_iter().next().unwrap_or_default()
            });
        }
        LookupAnswer::Error(msg) => {
            if resolver.is_pending(plugin(name).unwrap_or(name), &terms, &options) {
                return Err(Error::new(ErrorKind::InvalidOperation, msg));
            }
            return match errors.as_str() {
                "warn" | "ignore" if wantlist => Ok(Value::from(Vec::<Value>::new())),
                "warn" | "ignore" => Ok(Value::from(())),
                "strict" => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup `{name}` failed: {msg}"),
                )),
                other => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup `errors` must be `strict`, `warn` or `ignore`, not `{other}`"),
                )),
            };
        }
    };
    if undefined_terms && values == [undefined_term()] {
        return Ok(Value::UNDEFINED);
    }
    // As Ansible's `env`: an unset variable whose `default` is `undef()` without a hint is
    // undefined for that reason; another undefined default keeps its own.
    if plugin(name) == Some("env") && values == [undefined_term()] {
        if super::undef::last_is_default()
            && let [Json::String(term)] = terms.as_slice()
        {
            let var = term.split_whitespace().next().unwrap_or_default();
            super::undef::explain(format!(
                "The environment variable {} is not set.",
                super::pyrepr::repr_str(var)
            ));
        }
        return Ok(Value::UNDEFINED);
    }
    // The value carries its origin, as Ansible's `env` lookup tags it.
    if plugin(name) == Some("env")
        && !wantlist
        && let ([Json::String(value)], [Json::String(var)]) = (values.as_slice(), terms.as_slice())
    {
        return Ok(super::filters::protomatter::mark_origin(
            value,
            format!("<environment variable {}>", super::pyrepr::repr_str(var)),
        ));
    }
    Ok(with_undefined(&shape(values, wantlist)))
}

/// What stands for an undefined term or value between the host, the controller and a
/// Python lookup plugin (which gets Ansible's undefined marker for it).
pub const UNDEFINED_TERM: &str = "__dr_undefined__";

/// The JSON that stands for an undefined value ([`UNDEFINED_TERM`]).
pub fn undefined_term() -> Json {
    serde_json::json!({ UNDEFINED_TERM: null })
}

/// `v` as a template value, each [`undefined_term`] in it undefined.
fn with_undefined(v: &Json) -> Value {
    fn holds(v: &Json) -> bool {
        match v {
            Json::Object(m) => {
                (m.len() == 1 && m.contains_key(UNDEFINED_TERM)) || m.values().any(holds)
            }
            Json::Array(a) => a.iter().any(holds),
            _ => false,
        }
    }
    match v {
        _ if !holds(v) => Value::from(minijinja::value::Serde(v)),
        Json::Object(m) if m.len() == 1 && m.contains_key(UNDEFINED_TERM) => Value::UNDEFINED,
        Json::Array(a) => a.iter().map(with_undefined).collect(),
        Json::Object(m) => Value::from_iter(m.iter().map(|(k, v)| (k.clone(), with_undefined(v)))),
        _ => Value::from(minijinja::value::Serde(v)),
    }
}

/// Ansible's shaping of a lookup's list when `wantlist` is false: one element is returned
/// alone, several strings are joined with commas, anything else stays a list.
fn shape(values: Vec<Json>, wantlist: bool) -> Json {
    if wantlist || values.is_empty() {
        return Json::Array(values);
    }
    if values.len() == 1 {
        return values.into_iter().next().unwrap_or(Json::Null);
    }
    if values.iter().all(Json::is_string) {
        let parts: Vec<&str> = values.iter().filter_map(Json::as_str).collect();
        return Json::from(parts.join(","));
    }
    Json::Array(values)
}

/// Looks up a variable by name (for the `vars` lookup); `Ok(None)` when it is undefined.
pub type VarReader<'a> = dyn Fn(&str) -> Result<Option<Json>, Error> + 'a;

/// Runs lookup `name` with these terms; a failure of the plugin itself is an
/// [`LookupAnswer::Error`], a name dr does not know is an `Err`.
pub fn run(
    name: &str,
    terms: &[Json],
    options: &Map<String, Json>,
    resolver: &dyn Resolver,
    vars: &VarReader<'_>,
) -> Result<LookupAnswer, Error> {
    // A plugin dr does not have may be a Python one the controller runs (it says so when
    // it is not).
    let Some(plugin) = plugin(name) else {
        return Ok(resolver.resolve(name, terms, options));
    };
    if CONTROLLER_LOOKUPS.contains(&plugin) {
        return Ok(resolver.resolve(plugin, terms, options));
    }
    if plugin == "vars" {
        return lookup_data::vars(terms, options, vars);
    }
    Ok(match lookup_data::run(plugin, terms, options) {
        Ok(values) => LookupAnswer::Values(values),
        Err(msg) => LookupAnswer::Error(msg),
    })
}

/// The items of a `with_<name>` loop over `terms` (already rendered): Ansible calls the
/// lookup with `wantlist=True`, a non-list term being a list of one.
pub fn loop_items(
    name: &str,
    terms: Json,
    action: &str,
    resolver: &dyn Resolver,
    vars: &VarReader<'_>,
) -> Result<Vec<Json>, String> {
    let terms = match terms {
        Json::Array(items) => items,
        other => vec![other],
    };
    let mut options = Map::new();
    if plugin(name) == Some("first_found") {
        // `with_first_found` searches the subdirectory the task's action names, as Ansible
        // does (`templates/` for an action with "template" in its name, else `vars/` for
        // "var", else `files/`); the function form does not: the controller answers for it.
        let subdir = ["template", "var", "file"]
            .into_iter()
            .find(|s| action.contains(s))
            .map_or("files", |s| match s {
                "template" => "templates",
                "var" => "vars",
                _ => "files",
            });
        options.insert(WITH_MARKER.into(), Json::from(subdir));
    }
    match run(name, &terms, &options, resolver, vars) {
        Ok(LookupAnswer::Values(values)) => Ok(values),
        Ok(LookupAnswer::Templates(_)) => Err(format!(
            "`with_{name}` is not supported by dr: use `loop: \"{{{{ query('{name}', ...) }}}}\"`"
        )),
        Ok(LookupAnswer::Error(msg)) => Err(format!("`with_{name}`: {msg}")),
        Err(e) => Err(format!("`with_{name}`: {}", e.detail().unwrap_or_default())),
    }
}

/// A template value as data (a lookup's term or a plugin's argument).
pub(super) fn to_json(v: &Value) -> Result<Json, Error> {
    serde_json::to_value(v).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("a lookup term or plugin argument cannot be converted to data: {e}"),
        )
    })
}
