//! The engine: runs one play on one host and streams [`Event`]s.
//!
//! Tasks run in order; a failed task (not ignored) stops the play on this host unless an
//! enclosing block rescues it (see `flow.rs`). Handlers notified by changed tasks run at
//! each `meta: flush_handlers` (the controller adds one after each section of the play, as
//! Ansible does), in definition order, and not at all when the play failed, unless the
//! play forces them.

mod async_task;
mod become_;
mod callback;
pub mod connection_vars;
mod controller_side;
mod flow;
mod item;
mod loop_result;
mod made;
mod module_template;
mod reads;
pub mod stop;
mod sync;
pub mod tags;
mod task;
mod task_timeout;
mod throttle;
mod verdict;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Map, Value as Json};

use crate::mask::Masker;
use crate::template::{Scope, Templater};
use crate::wire::{Event, Mode, Request, Stats, Status, Task, TaskKind};
pub use controller_side::controller_side;
pub(crate) use item::register_of as registered;
pub use stop::Stop;
pub use sync::Link;

pub use tags::{rendered_tags, selected as tags_selected};

/// The message shown instead of a `no_log` task's output.
pub const NO_LOG_MSG: &str = "the output has been hidden due to no_log";

/// Runs the whole play of `request`, calling `emit` for each event as it happens.
///
/// Never panics on any input (a panic inside is reported as a bug in the final event), and
/// always emits [`Event::Finished`] last.
pub fn run(request: &Request, emit: &mut dyn FnMut(Event)) {
    crate::modules::bridge::cache(&request.bridged);
    run_linked(request, &Stop::new(), &Link::none(), emit);
}

/// [`run`], stoppable through `stop` (once it is pulled, no task starts; the play ends
/// with [`Event::Finished`] marked `interrupted`), with a controller behind `link`, which
/// answers the play's sync points (`docs/cross-host.md`).
pub fn run_linked(request: &Request, stop: &Stop, link: &Link, emit: &mut dyn FnMut(Event)) {
    let mut stats = Stats::default();
    // The runner's masker, grown with what the play derived from secrets.
    let mut masker = Masker::new(&request.secrets);
    let result = stop.enter(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let mut runner = Runner::new(request, &mut *emit);
            masker = runner.masker.clone();
            runner.stop = stop.clone();
            runner.link = link.clone();
            let error = runner.run_play().err();
            (
                runner.stats,
                error,
                runner.facts,
                runner.host_facts,
                runner.interrupted,
            )
        }))
    });
    let (stats, error, facts, host_facts, interrupted) = match result {
        Ok(ended) => ended,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            stats.failed += 1;
            (
                stats,
                Some(format!(
                    "bug: the dr agent panicked ({detail}); please report it"
                )),
                Map::new(),
                Map::new(),
                stop.requested(),
            )
        }
    };
    emit(Event::Finished {
        stats,
        error: error.map(|e| masker.mask(&e).into_owned()),
        facts,
        host_facts,
        interrupted,
        sensitive: masker.derived(),
    });
}

/// State of one play on one host.
struct Runner<'a> {
    request: &'a Request,
    emit: &'a mut dyn FnMut(Event),
    masker: Masker,
    templater: Templater,
    /// The controller lookups the templater answers (shipped, or asked for while running).
    lookups: std::sync::Arc<crate::template::lookup::Table>,
    /// The request's variables with the engine's magic variables, without `hostvars`.
    vars: Map<String, Json>,
    /// The run's `hostvars` (every host's variables), shared with every scope the host's
    /// tasks render with: copied only when this host's own entry changes while a scope
    /// still holds it.
    hostvars: Option<std::sync::Arc<Map<String, Json>>>,
    /// Facts and registered results: above task vars, below include params and extra vars
    /// (Ansible's precedence).
    facts: Map<String, Json>,
    /// Facts gathered from the host (`setup`, a module's `ansible_facts`): below play vars
    /// and task vars, as Ansible's "host facts" level (a separate store from `facts`).
    host_facts: Map<String, Json>,
    /// The request's names from the play's level or above, which host facts do not
    /// override (with the extra vars).
    above_facts: HashSet<String>,
    /// Variables that hold data, never rendered again: registered results and facts
    /// (already rendered when set), as Ansible's "unsafe" values.
    raw: HashSet<String>,
    /// Variables of the dynamic includes being run, innermost last: their `vars` and loop
    /// variables (`true` = data, never rendered again).
    scoped: Vec<(Map<String, Json>, bool)>,
    /// Per handler: notified and not yet run.
    notified: Vec<bool>,
    /// Running handlers: the tasks a handler includes show as handlers too.
    in_handler: bool,
    /// Depth-first index of the task running now: where a flush it triggers runs the
    /// handlers (a `run_once` handler meets the batch there).
    at: usize,
    stats: Stats,
    /// Checked between tasks: once pulled, the play starts nothing new.
    stop: Stop,
    /// The play was cut short by [`Runner::stop`].
    interrupted: bool,
    /// Where the controller's answers to sync points arrive.
    link: Link,
    /// `meta: clear_host_errors` ran since the innermost `always` began.
    cleared: bool,
    /// Names `set_fact` or `register` set in this play: `include_vars` does not replace
    /// them.
    stronger: HashSet<String>,
    /// Locations of the includes that have run here: their roles' handlers answer
    /// notifications from then on.
    included: HashSet<String>,
    /// Role instances (`Task::role_instance`) one of whose tasks ran here (was not
    /// skipped).
    roles_run: HashSet<u32>,
    /// Role instances that completed here: an identical instance later in the play is
    /// passed over.
    roles_completed: HashSet<u32>,
    /// `meta: end_role` ran: the role expansion (`Task::role_run`) whose remaining tasks
    /// are skipped up to its end.
    ending_role: Option<u32>,
    /// The connection variables as the play started: a task may not change them.
    connection: connection_vars::Baseline,
}

/// How a task ended, for the play.
struct TaskEnd {
    /// Something changed (or would), so notifications fire.
    changed: bool,
    /// The task failed (not ignored): the message, and the result as registered.
    fatal: Option<(String, Map<String, Json>)>,
    /// `meta: flush_handlers` was run.
    flush: bool,
    /// `meta: end_host` (or `end_play`, `end_batch`) was run.
    end_host: bool,
    /// The task's outcome over its items (failed, else changed, else skipped, else ok).
    status: Status,
    /// Its message: the failure's, else the last item's.
    msg: String,
    /// It failed only because the host could not be reached (ignored, see
    /// `Request::unreachable`): as in Ansible, its role did not run on the host.
    unreachable: bool,
}

impl<'a> Runner<'a> {
    fn new(request: &'a Request, emit: &'a mut dyn FnMut(Event)) -> Self {
        let mut vars = request.vars.clone();
        // `vars` may keep a place for it; a request made by hand may hold it there.
        let hostvars = match (&request.hostvars, vars.shift_remove("hostvars")) {
            (Some(shared), _) => Some(shared.shared_map()),
            (None, Some(Json::Object(map))) => Some(std::sync::Arc::new(map)),
            (None, Some(other)) => {
                vars.insert("hostvars".into(), other);
                None
            }
            (None, None) => None,
        };
        // `groups` and the play's host lists, shared with the batch's other requests, in
        // the places their nulls keep.
        if let Some(shared) = &request.play_vars {
            shared.join_into(&mut vars);
        }
        vars.entry("inventory_hostname")
            .or_insert_with(|| Json::from(request.host.clone()));
        // As Ansible's connection variables (`PlayContext.update_vars`): the address a
        // task reaches is `ansible_host` (or `ansible_ssh_host`), else the host's name;
        // both names hold it unless set.
        let address = ["ansible_host", "ansible_ssh_host"]
            .iter()
            .find_map(|k| vars.get(*k).cloned())
            .unwrap_or_else(|| Json::from(request.host.clone()));
        for name in ["ansible_host", "ansible_ssh_host"] {
            vars.entry(name).or_insert_with(|| address.clone());
        }
        vars.insert(
            "ansible_check_mode".into(),
            Json::Bool(request.mode == Mode::Check),
        );
        vars.insert("ansible_diff_mode".into(), Json::Bool(request.diff_mode));
        vars.entry("ansible_play_name")
            .or_insert_with(|| Json::from(request.play.name.clone()));
        let lookups =
            std::sync::Arc::new(crate::template::lookup::Table::new(request.lookups.clone()));
        let connection = connection_vars::Baseline::of(&vars);
        let mut runner = Runner {
            request,
            emit,
            masker: Masker::new(&request.secrets).with_vaulted(&request.vaulted),
            templater: Templater::with_plugins(lookups.clone(), &request.python_plugins)
                .allowing_broken_conditionals(request.allow_broken_conditionals),
            lookups,
            vars,
            hostvars,
            facts: Map::new(),
            host_facts: Map::new(),
            above_facts: request
                .above_facts
                .iter()
                .chain(&request.extra_vars)
                .cloned()
                .collect(),
            raw: HashSet::new(),
            scoped: Vec::new(),
            notified: vec![false; request.play.handlers.len()],
            at: 0,
            in_handler: false,
            stats: Stats::default(),
            stop: Stop::new(),
            interrupted: false,
            link: Link::none(),
            cleared: false,
            stronger: HashSet::new(),
            included: HashSet::new(),
            roles_run: HashSet::new(),
            roles_completed: HashSet::new(),
            ending_role: None,
            connection,
        };
        runner.templater = runner.templater.clone().tracking(runner.masker.clone());
        for (k, v) in &request.facts {
            runner.set_fact(k, v.clone());
        }
        for (k, v) in &request.host_facts {
            runner.set_host_fact(k, v.clone());
        }
        runner
    }

    /// Adds the facts to `vars` (request vars, and `task_vars` already in), in Ansible's
    /// precedence: a fact gathered from the host ranks below play vars and task vars, one
    /// set by `set_fact` or registered above them. A host fact left out lets the variable
    /// it yields to be rendered again (it is no longer data).
    fn add_facts(
        &self,
        vars: &mut Map<String, Json>,
        raw: &mut HashSet<String>,
        task_vars: Option<&Map<String, Json>>,
    ) {
        for (k, v) in &self.host_facts {
            if self.facts.contains_key(k) {
                continue;
            }
            if self.above_facts.contains(k) || task_vars.is_some_and(|t| t.contains_key(k)) {
                raw.remove(k);
            } else {
                vars.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &self.facts {
            vars.insert(k.clone(), v.clone());
        }
        // Ansible's `ansible_facts` is always there: empty before any fact is known.
        vars.entry("ansible_facts")
            .or_insert_with(|| Json::Object(Map::new()));
    }

    /// This host's facts as other hosts see them in `hostvars`: those gathered from it,
    /// with `set_fact` values and registered results over them.
    pub(super) fn visible_facts(&self) -> Map<String, Json> {
        let mut all = self.host_facts.clone();
        all.extend(self.facts.clone());
        all
    }

    /// Sets a fact gathered from the host (`setup`, a module's `ansible_facts`): a value
    /// `set_fact` gave the same name still wins.
    fn set_host_fact(&mut self, name: &str, value: Json) {
        if !self.facts.contains_key(name)
            && let Some(own) = self.own_hostvars()
        {
            own.insert(name.to_owned(), value.clone());
        }
        self.host_facts.insert(name.to_owned(), value);
        self.raw.insert(name.to_owned());
    }

    /// Sets a fact (or registered result) for the rest of the run on this host, visible
    /// as itself and in `hostvars[inventory_hostname]`.
    fn set_fact(&mut self, name: &str, value: Json) {
        if let Some(own) = self.own_hostvars() {
            own.insert(name.to_owned(), value.clone());
        }
        self.facts.insert(name.to_owned(), value);
        self.raw.insert(name.to_owned());
    }

    /// This host's entry in `hostvars`, to change (the shared map is copied first when a
    /// scope still reads it).
    fn own_hostvars(&mut self) -> Option<&mut Map<String, Json>> {
        let hostvars = std::sync::Arc::make_mut(self.hostvars.as_mut()?);
        match hostvars.get_mut(&self.request.host)? {
            Json::Object(own) => Some(own),
            _ => None,
        }
    }

    fn run_play(&mut self) -> Result<(), String> {
        let request = self.request;
        let result = match self.run_list(&request.play.tasks, 0) {
            // The controller ends a play with Ansible's implicit flush; handlers notified
            // in its pass wait for a flush that does not come, as in Ansible.
            flow::Flow::Next if ends_with_flush(&request.play.tasks) => return Ok(()),
            flow::Flow::Next => return self.flush_handlers(self.end()).into_result(),
            flow::Flow::EndHost => return Ok(()),
            flow::Flow::Failed(f) => Err(f.msg),
        };
        if request.play.force_handlers {
            let end = self.end();
            self.flush_handlers(end).into_result()?;
        }
        result
    }

    /// Marks the handlers `task` notifies.
    fn notify(&mut self, task: &Task) -> Result<(), String> {
        let handlers = &self.request.play.handlers;
        let scope = self.host_scope();
        // A templated `notify` may render to a list of topics, as in Ansible.
        let mut topics = Vec::new();
        for raw in &task.notify {
            match scope.render_value(&Json::from(raw.clone())) {
                Ok(Json::Array(items)) => topics.extend(items.into_iter().map(|i| match i {
                    Json::String(s) => s,
                    other => other.to_string(),
                })),
                Ok(Json::String(s)) => topics.push(s),
                Ok(other) => topics.push(other.to_string()),
                Err(_) => topics.push(raw.clone()),
            }
        }
        for topic in topics {
            // As Ansible's `search_handlers_by_notification`: the first handler of that
            // name (templated), then every handler listening to it, one per name.
            let mut found = false;
            let mut by_name = None;
            let included = self.included.clone();
            let available =
                move |h: &Task| h.added_by.as_ref().is_none_or(|at| included.contains(at));
            for i in search_order(handlers) {
                let h = &handlers[i];
                if !available(h) {
                    continue;
                }
                let Some(name) = &h.name else {
                    continue;
                };
                match scope.render_string(name) {
                    Ok(rendered) if rendered == topic => {
                        by_name = Some(i);
                        break;
                    }
                    Ok(_) => {}
                    // (A role's handler also listens to `role : name`: not a topic of its own.)
                    Err(e) if h.listen.iter().all(|l| l.ends_with(&format!(" : {name}"))) => {
                        let text = format!(
                            "[WARNING]: Handler '{name}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {e}"
                        );
                        let text = self.masker.mask(&text).into_owned();
                        self.emit(Event::Message { text });
                    }
                    Err(_) => {}
                }
            }
            if let Some(i) = by_name {
                self.notified[i] = true;
                found = true;
            }
            let mut seen = HashSet::new();
            for i in search_order(handlers) {
                let h = &handlers[i];
                if !h.listen.contains(&topic) || !available(h) {
                    continue;
                }
                if let Some(name) = &h.name
                    && !seen.insert(name.as_str())
                {
                    continue;
                }
                self.notified[i] = true;
                found = true;
            }
            if !found && self.request.missing_handler_warns {
                let text = format!(
                    "[WARNING]: The requested handler '{topic}' was not found in either the main handlers list nor in the listening handlers list"
                );
                let text = self.masker.mask(&text).into_owned();
                self.emit(Event::Message { text });
            } else if !found {
                // Ansible's words too, for scripts that grep ansible-playbook's error.
                return Err(format!(
                    "the handler `{topic}` notified by task at {} is not defined in this play (The requested handler '{topic}' was not found in either the main handlers list nor in the listening handlers list)",
                    task.location
                ));
            }
        }
        Ok(())
    }

    /// The depth-first index past the play's last task (where the end of the play
    /// flushes handlers).
    fn end(&self) -> usize {
        self.request.play.tasks.iter().map(Task::size).sum()
    }

    /// Runs the notified handlers in one pass in definition order, as Ansible: a handler
    /// notified by a later one (or by itself) waits for the next flush. `at` is the
    /// depth-first index of the task that flushes.
    fn flush_handlers(&mut self, at: usize) -> flow::Flow {
        let outer = std::mem::replace(&mut self.in_handler, true);
        let flow = self.handler_pass(at);
        self.in_handler = outer;
        flow
    }

    fn handler_pass(&mut self, at: usize) -> flow::Flow {
        let request = self.request;
        for i in 0..self.notified.len() {
            if !self.notified[i] {
                continue;
            }
            if self.stopped() {
                return flow::Flow::EndHost;
            }
            self.notified[i] = false;
            let Some(handler) = request.play.handlers.get(i) else {
                break;
            };
            if handler.meta_action() == Some("flush_handlers") {
                // Ansible stops the run with this error when such a handler is notified.
                return flow::Flow::failed(
                    "flush_handlers cannot be used as a handler".into(),
                    handler,
                );
            }
            // Handlers are not selected by tags (Ansible filters only the play's tasks).
            let flow = match handler.kind {
                // A handler that is an `include_tasks`: its tasks run when it is notified.
                TaskKind::Include => self.run_include(i, handler),
                _ if handler.run_once => self.run_once_task(at, Some(i), handler),
                _ => self.run_module_task(i, true, handler),
            };
            if !matches!(flow, flow::Flow::Next) {
                return flow;
            }
        }
        flow::Flow::Next
    }

    /// The host's variables now (request vars, facts, extra vars), without a task's.
    fn host_scope(&self) -> Scope {
        let mut vars = self.vars.clone();
        let mut raw = self.raw.clone();
        self.add_facts(&mut vars, &mut raw, None);
        for name in &self.request.extra_vars {
            if let Some(v) = self.request.var(name) {
                vars.insert(name.clone(), v.clone());
                raw.remove(name);
            }
        }
        self.templater
            .scope_sharing(vars, self.hostvars.clone(), raw)
    }

    /// Whether the play must end here because it was stopped from outside (noted, so the
    /// end of the play says it was interrupted).
    fn stopped(&mut self) -> bool {
        if self.stop.requested() {
            self.interrupted = true;
        }
        self.interrupted
    }

    fn emit(&mut self, event: Event) {
        (self.emit)(event);
    }
}

/// Whether the play's last task is the implicit `meta: flush_handlers` the controller adds.
fn ends_with_flush(tasks: &[Task]) -> bool {
    tasks
        .last()
        .is_some_and(|t| t.implicit && t.meta_action() == Some("flush_handlers"))
}

/// The order Ansible searches handlers in: its handler blocks (each role's, then the
/// play's own) last first, each block's handlers in order. A block here is a run of
/// handlers of the same role (`role_name`).
fn search_order(handlers: &[Task]) -> Vec<usize> {
    let role = |h: &Task| h.vars.get("role_name").cloned();
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    for (i, h) in handlers.iter().enumerate() {
        match blocks.last_mut() {
            Some(block) if role(&handlers[block[0]]) == role(h) => block.push(i),
            _ => blocks.push(vec![i]),
        }
    }
    blocks.into_iter().rev().flatten().collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod failure_tests;
