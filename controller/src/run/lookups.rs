//! Controller lookups (`file`, `env`, `pipe`, `password`, `with_fileglob`, ...): Ansible runs
//! them on the controller, and so does dr, for each host before its play is sent. The
//! controller renders the play's templates with what it knows of the host (inventory, play,
//! role and task vars, facts of earlier plays, loop items), runs every controller lookup
//! those renders call, and ships the answers in the request; the agent's templates read
//! them there. `with_<controller lookup>` loops become literal lists.
//!
//! A lookup whose terms depend on what only the host knows (a registered result, a fact
//! gathered in this play) cannot be answered before the run: the agent fails that task
//! with a message that says so. A lookup inside a branch the controller cannot decide is
//! run anyway (as a `pipe` in a task whose `when` depends on a registered result).

mod password;
mod plugins;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use dr_agent::template::lookup::{CONTROLLER_FILE, CONTROLLER_LOOKUPS, Resolver};
use dr_agent::template::{Scope, Templater};
use dr_agent::wire::{LookupAnswer, LookupCall, Task, lookup_key};
use regex::Regex;
use serde_json::{Map, Value};

use super::render_vars::RenderVars;
use super::search_path;
use crate::secrets::Secrets;

static CALL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(lookup|query|q)\s*\(").ok());

/// Resolves the controller lookups of one host's play. `tasks` and `handlers` are that
/// host's copies: resolved `with_<controller lookup>` loops become literal lists.
pub fn resolve(
    tasks: &mut [Task],
    handlers: &mut [Task],
    vars: &RenderVars,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> BTreeMap<String, LookupAnswer> {
    let all = || tasks.iter().chain(handlers.iter()).flat_map(Task::walk);
    let loops = all().any(|t| {
        t.loop_with
            .as_deref()
            .is_some_and(|l| CONTROLLER_LOOKUPS.contains(&l))
    });
    if !loops && !all().any(has_call) && !vars.any_value(value_has_call) {
        return BTreeMap::new();
    }
    let recorder = Arc::new(Recorder {
        playbook_dir: playbook_dir.to_path_buf(),
        secrets: secrets.clone(),
        simulating: true,
        current: Mutex::default(),
        answers: Mutex::default(),
    });
    let sim = Simulation {
        templater: Templater::with_plugins(recorder.clone(), &crate::bridge::plugins::names()),
        recorder: recorder.clone(),
        playbook_dir,
    };
    for task in tasks.iter_mut().chain(handlers.iter_mut()) {
        sim.task(task, vars.get());
    }
    std::mem::take(&mut *lock(&recorder.answers))
}

/// Runs a controller lookup a host asked for while its play ran (terms that depended on
/// what only the host knew), with the task and variables it sent.
pub fn answer(call: LookupCall, playbook_dir: &Path, secrets: &Secrets) -> LookupAnswer {
    let site = plugins::Site {
        task: &call.task,
        playbook_dir,
        secrets,
        vars: &call.vars,
    };
    let ran = match (call.name.as_str(), call.terms.as_slice()) {
        (CONTROLLER_FILE, [kind, Value::String(name)]) if kind == "vars" => {
            super::include_vars::read_now(name, &call.task, playbook_dir, secrets)
        }
        (CONTROLLER_FILE, [kind, Value::String(name)]) if kind == "vars_dir" => {
            super::include_vars::read_dir_now(name, &call.task, playbook_dir, secrets)
        }
        (CONTROLLER_FILE, [kind, Value::String(src)]) if kind == "tree" => {
            super::files::read_tree_now(src, &call.task, playbook_dir, secrets)
        }
        (CONTROLLER_FILE, [kind, Value::String(src)]) if kind == "files" || kind == "templates" => {
            super::files::read_now(
                src,
                kind.as_str().unwrap_or_default(),
                &call.task,
                playbook_dir,
                secrets,
            )
        }
        (CONTROLLER_FILE, _) => Err(format!(
            "a controller file request dr does not know: {:?}",
            call.terms
        )),
        _ => {
            return plugins::answer(&call.name, &call.terms, &call.kwargs, &site)
                .unwrap_or_else(LookupAnswer::Error);
        }
    };
    match ran {
        Ok(values) => LookupAnswer::Values(values),
        Err(msg) => LookupAnswer::Error(msg),
    }
}

/// A resolver for templates the controller itself renders (a `vars_files` name): it runs
/// the controller lookups at once, as Ansible does for them, relative to `playbook_dir`.
pub fn direct(playbook_dir: &Path, secrets: &Secrets) -> Arc<dyn Resolver> {
    let recorder = Recorder {
        playbook_dir: playbook_dir.to_path_buf(),
        secrets: secrets.clone(),
        simulating: false,
        current: Mutex::default(),
        answers: Mutex::default(),
    };
    *lock(&recorder.current) = Some((Task::default(), Templater::new().scope(Map::new())));
    Arc::new(recorder)
}

fn has_call(task: &Task) -> bool {
    value_has_call(&task.args)
        || task.when.iter().any(|w| text_has_call(w.as_str()))
        || task.loop_.as_ref().is_some_and(value_has_call)
        || task.name.as_deref().is_some_and(text_has_call)
        || task.vars.values().any(value_has_call)
}

fn value_has_call(v: &Value) -> bool {
    match v {
        Value::String(s) => text_has_call(s),
        Value::Array(items) => items.iter().any(value_has_call),
        Value::Object(map) => map.values().any(value_has_call),
        _ => false,
    }
}

fn text_has_call(s: &str) -> bool {
    // Every call has its `(`: a one-byte search spares most values the pattern.
    s.contains('(') && CALL.as_ref().is_some_and(|re| re.is_match(s))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lookups that read controller files: one that fails before the play is left for the
/// host to ask for when it gets there (running it twice has no effect).
const READS_FILES: &[&str] = &[
    "file",
    "template",
    "first_found",
    "unvault",
    "csvfile",
    "ini",
];

/// Runs controller lookups when the simulated renders call them, remembering the answers.
#[derive(Debug)]
struct Recorder {
    playbook_dir: PathBuf,
    secrets: Secrets,
    /// Renders the host's play before it runs (not a template the controller itself
    /// renders, as a `vars_files` name).
    simulating: bool,
    /// The task and variables of the render in progress.
    current: Mutex<Option<(Task, Scope)>>,
    answers: Mutex<BTreeMap<String, LookupAnswer>>,
}

impl Resolver for Recorder {
    fn resolve(&self, name: &str, terms: &[Value], kwargs: &Map<String, Value>) -> LookupAnswer {
        if dr_agent::template::lookup::reads_vars(name) && self.simulating {
            // Its answer depends on the variables where it is used, which only the host
            // has: the host asks when it gets there.
            return LookupAnswer::Error(format!("lookup `{name}` is asked for at run time"));
        }
        let key = lookup_key(name, terms, kwargs);
        if let Some(answer) = lock(&self.answers).get(&key) {
            return answer.clone();
        }
        let Some((task, scope)) = lock(&self.current).clone() else {
            return LookupAnswer::Error("a lookup was called outside of a task".into());
        };
        let site = plugins::Site {
            task: &task,
            playbook_dir: &self.playbook_dir,
            secrets: &self.secrets,
            vars: scope.vars(),
        };
        let answer = match plugins::answer(name, terms, kwargs, &site) {
            Ok(answer) => answer,
            // A file the play may still write (`copy` then `lookup('file')`): not answered
            // now, so the host asks when it reaches the lookup, as Ansible reads it then.
            Err(msg) if READS_FILES.contains(&name) => return LookupAnswer::Error(msg),
            Err(msg) => LookupAnswer::Error(msg),
        };
        lock(&self.answers).insert(key, answer.clone());
        answer
    }
}

struct Simulation<'a> {
    templater: Templater,
    recorder: Arc<Recorder>,
    playbook_dir: &'a Path,
}

impl Simulation<'_> {
    /// Renders what the agent will render for `task` (and its children), so that the
    /// controller lookups they call are run and recorded.
    fn task(&self, task: &mut Task, outer: &Map<String, Value>) {
        let mut vars = outer.clone();
        vars.extend(task.vars.clone());
        let scope = self.templater.scope(vars.clone());
        self.set_current(task, &scope);
        if task
            .when
            .iter()
            .any(|w| matches!(scope.eval_bool(w.as_str()), Ok(false)))
            && task.loop_.is_none()
        {
            return;
        }
        let items = self.items(task, &scope);
        if let (Some(lookup), Some(items)) = (&task.loop_with, &items)
            && CONTROLLER_LOOKUPS.contains(&lookup.as_str())
        {
            task.loop_ = Some(Value::Array(items.iter().map(protect).collect()));
            task.loop_with = None;
        }
        match items {
            Some(items) => {
                let var = task.loop_var.clone().unwrap_or_else(|| "item".into());
                for item in items {
                    let mut with_item = vars.clone();
                    with_item.insert(var.clone(), item);
                    let raw = std::iter::once(var.clone()).collect();
                    let scope = self.templater.scope_with_raw(with_item, raw);
                    self.renders(task, &scope);
                }
            }
            None => self.renders(task, &scope),
        }
        for child in task
            .block
            .iter_mut()
            .chain(task.rescue.iter_mut())
            .chain(task.always.iter_mut())
        {
            self.task(child, &vars);
        }
    }

    fn set_current(&self, task: &Task, scope: &Scope) {
        let mut shallow = task.clone();
        shallow.block.clear();
        shallow.rescue.clear();
        shallow.always.clear();
        *lock(&self.recorder.current) = Some((shallow, scope.clone()));
    }

    /// The loop's items as the controller sees them; `None` without a loop or when they
    /// depend on what only the host knows.
    fn items(&self, task: &Task, scope: &Scope) -> Option<Vec<Value>> {
        let raw = task.loop_.as_ref()?;
        let rendered = scope.render_value(raw).ok()?;
        if let Some(lookup) = &task.loop_with {
            return self
                .templater
                .loop_lookup(lookup, rendered, task.written_module(), scope)
                .ok();
        }
        match rendered {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Every template of the task, rendered for their lookups (errors are the agent's to
    /// report).
    fn renders(&self, task: &Task, scope: &Scope) {
        self.set_current(task, scope);
        if task
            .when
            .iter()
            .any(|w| matches!(scope.eval_bool(w.as_str()), Ok(false)))
        {
            return;
        }
        let _ = scope.render_value(&task.args);
        for cond in task
            .changed_when
            .iter()
            .chain(&task.failed_when)
            .chain(&task.until)
        {
            let _ = scope.eval_bool(cond);
        }
        for text in task.name.iter().chain(&task.loop_label) {
            let _ = scope.render_string(text);
        }
        if task.module == "template"
            && let Some(src) = task.args.get("src").and_then(Value::as_str)
            && let Ok(src) = scope.render_string(src)
            && let Some(path) = search_path::find(&src, "templates", task, self.playbook_dir)
            && let Ok(source) = std::fs::read_to_string(&path)
            && text_has_call(&source)
        {
            let _ = scope.render_string(&source);
        }
    }
}

/// A looked-up item is data: a string holding `{{` is kept as it is by the agent's render.
fn protect(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") || s.contains("{#") => {
            Value::from(format!("{{% raw %}}{s}{{% endraw %}}"))
        }
        Value::Array(items) => Value::Array(items.iter().map(protect).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), protect(v))).collect())
        }
        other => other.clone(),
    }
}
