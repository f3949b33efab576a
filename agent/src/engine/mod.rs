//! The engine: runs one play on one host and streams [`Event`]s.
//!
//! Tasks run in order; a failed task (not ignored) stops the play on this host. Handlers
//! notified by changed tasks run once at the end of the play (or at `meta:
//! flush_handlers`), in definition order, and not at all when the play failed.

mod item;
mod tags;
mod task;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Map, Value as Json};

use crate::mask::Masker;
use crate::template::Templater;
use crate::wire::{Event, Mode, Request, Stats, Task};

pub use tags::selected as tags_selected;

/// The message shown instead of a `no_log` task's output.
pub const NO_LOG_MSG: &str = "the output has been hidden due to no_log";

/// Runs the whole play of `request`, calling `emit` for each event as it happens.
///
/// Never panics on any input (a panic inside is reported as a bug in the final event), and
/// always emits [`Event::Finished`] last.
pub fn run(request: &Request, emit: &mut dyn FnMut(Event)) {
    let mut stats = Stats::default();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut runner = Runner::new(request, &mut *emit);
        let error = runner.run_play().err();
        (runner.stats, error)
    }));
    let (stats, error) = match result {
        Ok((s, error)) => (s, error),
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
            )
        }
    };
    let masker = Masker::new(&request.secrets);
    emit(Event::Finished {
        stats,
        error: error.map(|e| masker.mask(&e).into_owned()),
    });
}

/// State of one play on one host.
struct Runner<'a> {
    request: &'a Request,
    emit: &'a mut dyn FnMut(Event),
    masker: Masker,
    templater: Templater,
    /// Host-scoped variables: the request's, plus facts and registered results.
    vars: Map<String, Json>,
    /// Variables that hold data, never rendered again: registered results and facts
    /// (already rendered when set), as Ansible's "unsafe" values.
    raw: HashSet<String>,
    /// Per handler: notified and not yet run.
    notified: Vec<bool>,
    stats: Stats,
}

/// How a task ended, for the play.
struct TaskEnd {
    /// Something changed (or would), so notifications fire.
    changed: bool,
    /// The play must stop on this host, with this message.
    fatal: Option<String>,
    /// `meta: flush_handlers` was run.
    flush: bool,
}

impl<'a> Runner<'a> {
    fn new(request: &'a Request, emit: &'a mut dyn FnMut(Event)) -> Self {
        let mut vars = request.vars.clone();
        vars.entry("inventory_hostname")
            .or_insert_with(|| Json::from(request.host.clone()));
        vars.insert(
            "ansible_check_mode".into(),
            Json::Bool(request.mode == Mode::Check),
        );
        vars.insert("ansible_diff_mode".into(), Json::Bool(request.diff));
        vars.entry("ansible_play_name")
            .or_insert_with(|| Json::from(request.play.name.clone()));
        Runner {
            request,
            emit,
            masker: Masker::new(&request.secrets),
            templater: Templater::new(),
            vars,
            raw: HashSet::new(),
            notified: vec![false; request.play.handlers.len()],
            stats: Stats::default(),
        }
    }

    fn run_play(&mut self) -> Result<(), String> {
        let request = self.request;
        for (index, task) in request.play.tasks.iter().enumerate() {
            if !tags_selected(&task.tags, &request.tags, &request.skip_tags) {
                continue;
            }
            let end = self.run_task(index, false, task);
            if let Some(fatal) = end.fatal {
                return Err(fatal);
            }
            if end.changed {
                self.notify(task)?;
            }
            if end.flush {
                self.flush_handlers()?;
            }
        }
        self.flush_handlers()
    }

    /// Marks the handlers `task` notifies.
    fn notify(&mut self, task: &Task) -> Result<(), String> {
        let handlers = &self.request.play.handlers;
        for topic in &task.notify {
            let scope = self
                .templater
                .scope_with_raw(self.vars.clone(), self.raw.clone());
            let topic = scope.render_string(topic).unwrap_or_else(|_| topic.clone());
            let mut found = false;
            for (i, h) in handlers.iter().enumerate() {
                if h.name.as_deref() == Some(topic.as_str()) || h.listen.contains(&topic) {
                    self.notified[i] = true;
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "the handler `{topic}` notified by task at {} is not defined in this play",
                    task.location
                ));
            }
        }
        Ok(())
    }

    /// Runs notified handlers in definition order until none is pending.
    fn flush_handlers(&mut self) -> Result<(), String> {
        let request = self.request;
        while let Some(i) = self.notified.iter().position(|n| *n) {
            self.notified[i] = false;
            let Some(handler) = request.play.handlers.get(i) else {
                break;
            };
            let end = self.run_task(i, true, handler);
            if let Some(fatal) = end.fatal {
                return Err(fatal);
            }
            if end.changed {
                self.notify(handler)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, event: Event) {
        (self.emit)(event);
    }
}

#[cfg(test)]
mod tests;
