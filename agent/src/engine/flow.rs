//! The task tree: lists, blocks (`block`/`rescue`/`always`) and dynamic includes, with
//! Ansible's control flow.

use serde_json::{Map, Value as Json};

use super::{Runner, tags_selected};
use crate::wire::{Event, Settle, Settled, Status, Task, TaskKind};

/// How running a task (or a list of them) ended.
pub(super) enum Flow {
    /// Go on with the next task.
    Next,
    /// A task failed and its failure was not ignored: the play stops on this host unless an
    /// enclosing block has a `rescue`.
    Failed(Failure),
    /// `meta: end_host` (or `end_play`, `end_batch`): the play ends here without failing.
    EndHost,
}

/// A failure on its way up the tree.
pub(super) struct Failure {
    /// The message the play ends with when nothing rescues it.
    pub msg: String,
    /// `ansible_failed_task` for a rescue.
    pub task: Json,
    /// `ansible_failed_result` for a rescue.
    pub result: Map<String, Json>,
    /// The failure was counted in the stats as a failed task (a rescue moves it to
    /// `rescued`).
    pub counted: bool,
    /// Another host's failure failed this one (`any_errors_fatal`, `max_fail_percentage`):
    /// a rescue runs but, as in Ansible, does not count as `rescued`.
    pub forced: bool,
}

impl Flow {
    /// `Err` with the message of an unrescued failure.
    pub fn into_result(self) -> Result<(), String> {
        match self {
            Flow::Failed(f) => Err(f.msg),
            Flow::Next | Flow::EndHost => Ok(()),
        }
    }

    pub(super) fn failed(msg: String, task: &Task) -> Flow {
        let mut result = Map::new();
        result.insert("failed".into(), Json::Bool(true));
        result.insert("msg".into(), Json::from(msg.clone()));
        Flow::Failed(Failure {
            msg,
            task: failed_task(task),
            result,
            counted: false,
            forced: false,
        })
    }
}

impl Runner<'_> {
    /// Runs `tasks` in order; `first` is the depth-first index of the first one.
    pub(super) fn run_list(&mut self, tasks: &[Task], first: usize) -> Flow {
        let mut index = first;
        for task in tasks {
            // Stopped from outside: the task that was running has finished; start no other.
            if self.stopped() {
                return Flow::EndHost;
            }
            // After `meta: end_role`: nothing runs up to the end of that role.
            if let Some(run) = self.ending_role {
                let end = task.implicit && task.role_run == Some(run);
                if !end {
                    index += task.size();
                    continue;
                }
                self.ending_role = None;
            }
            let flow = self.run_node(index, task);
            index += task.size();
            if !matches!(flow, Flow::Next) {
                return flow;
            }
        }
        Flow::Next
    }

    fn run_node(&mut self, index: usize, task: &Task) -> Flow {
        if let Some(id) = task.role_instance {
            if self.roles_completed.contains(&id) {
                // An identical role instance already completed here: as Ansible, its
                // tasks are passed over without a trace.
                return Flow::Next;
            }
            if task.implicit && task.meta_action() == Some("role_complete") {
                if self.roles_run.contains(&id) {
                    self.roles_completed.insert(id);
                }
                return Flow::Next;
            }
        }
        if task.implicit && task.meta_action() == Some("role_complete") {
            return Flow::Next;
        }
        match task.kind {
            TaskKind::Block => self.run_block(index, task),
            TaskKind::Include => {
                if task.sync && !self.barrier(index) {
                    return Flow::EndHost;
                }
                self.run_include(index, task)
            }
            TaskKind::Module if task.implicit => {
                if self.notified.contains(&true) {
                    self.emit(Event::Flushing);
                }
                let flow = self.flush_handlers(index);
                self.settle_flush(index, task, flow)
            }
            TaskKind::Module => {
                self.at = index;
                if !self.selected_by_tags(task) {
                    return Flow::Next;
                }
                if task.sync && !self.barrier(index) {
                    return Flow::EndHost;
                }
                if task.run_once {
                    return self.run_once_task(index, None, task);
                }
                self.run_module_task(index, false, task)
            }
        }
    }

    /// Runs one module task (or handler) and what follows from it: notifications, a
    /// handler flush, the end of the host's play.
    pub(super) fn run_module_task(&mut self, index: usize, handler: bool, task: &Task) -> Flow {
        // The slot is given back before the batch settles the task: a host waiting for it
        // must be able to finish the task too.
        let Some(end) = self.run_throttled(index, handler, task) else {
            return Flow::EndHost;
        };
        let ran = end.status != Status::Skipped;
        if !end.unreachable {
            self.note_role_ran(task, end.status);
        }
        let action = task.meta_action();
        if ran && action == Some("end_role") {
            self.ending_role = task.role_run;
        }
        let settles = !handler
            && (task.any_errors_fatal
                || self.request.play.max_fail_percentage.is_some()
                || matches!(action, Some("end_play" | "end_batch" | "clear_host_errors")));
        if !settles {
            return self.after_task(end, task);
        }
        if action == Some("flush_handlers") && end.fatal.is_none() {
            // The batch settles what the handlers did.
            let flow = self.after_task(end, task);
            return self.settle_flush(index, task, flow);
        }
        let here = Settle {
            failed: end.fatal.is_some(),
            end_play: ran && action == Some("end_play"),
            end_batch: ran && action == Some("end_batch"),
            clear_host_errors: ran && action == Some("clear_host_errors"),
            any_errors_fatal: task.any_errors_fatal,
            max_fail_percentage: self.request.play.max_fail_percentage,
        };
        let failed_here = here.failed;
        let Some(then) = self.settle(index, here) else {
            return Flow::EndHost;
        };
        let mut flow = self.after_task(end, task);
        if matches!(action, Some("end_play" | "end_batch")) && matches!(flow, Flow::EndHost) {
            // The batch's answer says whether the play ends, for every host.
            flow = Flow::Next;
        }
        match (then, flow) {
            (Settled::Fail { msg }, Flow::Next) if !failed_here => {
                let shown = format!("{msg} (task `{}` at {})", task_label(task), task.location);
                forced_failure(msg, shown, task)
            }
            (Settled::End { .. }, Flow::Next) => Flow::EndHost,
            (Settled::Cleared, flow) => {
                self.cleared = true;
                flow
            }
            (_, flow) => flow,
        }
    }

    /// After a handler flush (`flow` is how it ended here): with `any_errors_fatal` or a
    /// `max_fail_percentage`, the batch settles it as a task, so a handler that failed on
    /// one host fails the others, as in Ansible.
    fn settle_flush(&mut self, index: usize, task: &Task, flow: Flow) -> Flow {
        let max_fail_percentage = self.request.play.max_fail_percentage;
        if !task.any_errors_fatal && max_fail_percentage.is_none() {
            return flow;
        }
        let failed_here = matches!(flow, Flow::Failed(_));
        let here = Settle {
            failed: failed_here,
            any_errors_fatal: task.any_errors_fatal,
            max_fail_percentage,
            ..Settle::default()
        };
        let Some(then) = self.settle(index, here) else {
            return Flow::EndHost;
        };
        match (then, flow) {
            (Settled::Fail { msg }, Flow::Next) if !failed_here => {
                let shown = format!("{msg} (handlers flushed at {})", task.location);
                forced_failure(msg, shown, task)
            }
            (_, flow) => flow,
        }
    }

    /// A `run_once` task: run here for the batch and share the result, or take the result
    /// of the host that ran it (its registered result and facts; its failure fails this
    /// host too, as in Ansible; it notifies handlers only where it ran). A handler
    /// (`handler`: its position) runs on the first host of the batch it was notified on,
    /// at the flush of the task at `index`.
    pub(super) fn run_once_task(
        &mut self,
        index: usize,
        handler: Option<usize>,
        task: &Task,
    ) -> Flow {
        match self.run_once(index, handler) {
            super::sync::Once::Stop => Flow::EndHost,
            super::sync::Once::Run => {
                let (facts_before, host_before) = (self.facts.clone(), self.host_facts.clone());
                let end = match handler {
                    Some(i) => self.run_task(i, true, task),
                    None => self.run_task(index, false, task),
                };
                self.note_role_ran(task, end.status);
                let register = task
                    .register
                    .as_ref()
                    .and_then(|r| self.facts.get(r))
                    .and_then(|v| v.as_object().cloned())
                    .unwrap_or_default();
                // What the task set, at the level it set it, for the other hosts to set
                // alike.
                let changed = |now: &Map<String, Json>, before: &Map<String, Json>| {
                    now.iter()
                        .filter(|(k, v)| {
                            Some(k.as_str()) != task.register.as_deref()
                                && before.get(*k) != Some(*v)
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                let shared = crate::wire::Shared {
                    status: end.status,
                    msg: end.msg.clone(),
                    detail: Map::new(),
                    diffs: Vec::new(),
                    dangerous: false,
                    register,
                    facts: changed(&self.facts, &facts_before),
                    host_facts: changed(&self.host_facts, &host_before),
                    on: self.request.host.clone(),
                };
                self.ran_once(index, handler, shared);
                self.after_task(end, task)
            }
            super::sync::Once::Taken(shared) => self.take_once(task, *shared),
        }
    }

    /// A task of a role instance ran here (was not skipped): the instance completes at
    /// its end. (A `run_once` result taken from another host does not count, as Ansible.)
    fn note_role_ran(&mut self, task: &Task, status: Status) {
        if let Some(id) = task.role_instance
            && status != Status::Skipped
        {
            self.roles_run.insert(id);
        }
    }

    /// Takes the result of a `run_once` task another host of the batch ran. As in
    /// Ansible, the task shows (and counts) only where it ran.
    fn take_once(&mut self, task: &Task, shared: crate::wire::Shared) -> Flow {
        let failed = shared.status == Status::Failed;
        let on = shared.on.clone();
        if task.module == "set_fact" {
            // A cacheable `set_fact`: its facts join this host's own `ansible_facts`.
            let cached: Map<String, Json> = shared
                .host_facts
                .iter()
                .filter(|(k, _)| *k != "ansible_facts")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !cached.is_empty() {
                self.cache_facts(&cached);
            }
        } else {
            for (k, v) in &shared.host_facts {
                self.set_host_fact(k, v.clone());
            }
        }
        for (k, v) in &shared.facts {
            self.set_fact(k, v.clone());
        }
        if let Some(register) = &task.register {
            self.set_fact(register, Json::Object(shared.register.clone()));
        }
        let ignore = task.ignore_errors
            || super::task::ignore_errors(task, &self.task_scope(task, None)) == Ok(Some(true));
        if failed && !ignore {
            self.stats.failed += 1;
            let name = task.name.as_deref().unwrap_or(&task.module);
            let msg = format!(
                "the `run_once` task `{name}` at {} failed on `{on}`: {}",
                task.location, shared.msg
            );
            return Flow::Failed(Failure {
                msg,
                task: failed_task(task),
                result: shared.register,
                counted: true,
                forced: false,
            });
        }
        Flow::Next
    }

    /// What follows a task: its failure, its notifications, a handler flush, the end of the
    /// host's play.
    fn after_task(&mut self, end: super::TaskEnd, task: &Task) -> Flow {
        if let Some((msg, result)) = end.fatal {
            return Flow::Failed(Failure {
                msg,
                task: failed_task(task),
                result,
                counted: true,
                forced: false,
            });
        }
        if end.changed
            && let Err(msg) = self.notify(task)
        {
            return Flow::failed(msg, task);
        }
        if end.flush {
            let flow = self.flush_handlers(self.at);
            if !matches!(flow, Flow::Next) {
                return flow;
            }
        }
        if end.end_host {
            return Flow::EndHost;
        }
        Flow::Next
    }

    /// `block`, then `rescue` if the block failed, then `always` in every case.
    fn run_block(&mut self, index: usize, block: &Task) -> Flow {
        let sizes = |tasks: &[Task]| tasks.iter().map(Task::size).sum::<usize>();
        let rescue_at = index + 1 + sizes(&block.block);
        let always_at = rescue_at + sizes(&block.rescue);
        let flow = match self.run_list(&block.block, index + 1) {
            Flow::Failed(failure) if !block.rescue.is_empty() => {
                if failure.counted {
                    self.stats.failed = self.stats.failed.saturating_sub(1);
                }
                if !failure.forced {
                    self.stats.rescued += 1;
                }
                self.set_fact("ansible_failed_task", failure.task);
                self.set_fact("ansible_failed_result", Json::Object(failure.result));
                self.run_list(&block.rescue, rescue_at)
            }
            other => other,
        };
        if matches!(flow, Flow::EndHost) {
            return flow;
        }
        // `meta: clear_host_errors` anywhere in `always` (nested blocks included) takes
        // the block's failure back: the host goes on after the block, as in Ansible.
        let outer = std::mem::take(&mut self.cleared);
        let after = self.run_list(&block.always, always_at);
        let cleared = std::mem::replace(&mut self.cleared, outer);
        match after {
            Flow::Next if cleared => Flow::Next,
            Flow::Next => flow,
            later => later,
        }
    }

    /// Whether `--tags`/`--skip-tags` select `task`; a templated tag the controller could
    /// not render is rendered with the task's variables now.
    fn selected_by_tags(&self, task: &Task) -> bool {
        let request = self.request;
        if !task.tags.iter().any(|t| t.contains("{{")) {
            return tags_selected(&task.tags, &request.tags, &request.skip_tags);
        }
        let scope = self.task_scope(task, None);
        let tags: Vec<String> = task
            .tags
            .iter()
            .flat_map(|t| {
                super::tags::rendered_tags(&scope, t)
                    .filter(|_| t.contains("{{"))
                    .unwrap_or_else(|| vec![t.clone()])
            })
            .collect();
        tags_selected(&tags, &request.tags, &request.skip_tags)
    }

    /// A dynamic include: its `when` and `loop` are evaluated for the include itself, then
    /// its tasks run once per item with the item and the include's `vars` in scope.
    pub(super) fn run_include(&mut self, index: usize, include: &Task) -> Flow {
        if !self.selected_by_tags(include) {
            return Flow::Next;
        }
        let scope = self.task_scope(include, None);
        let name = self.display_name(include, &scope);
        self.emit(Event::TaskStart {
            index,
            handler: self.in_handler,
            name: name.clone(),
            title: self.callback_title(include, &name),
        });
        let items = match self.answering(include, &scope, |r| r.loop_items(include, &scope)) {
            Ok(Some(items)) => items.into_iter().map(Some).collect(),
            Ok(None) => vec![None],
            Err(msg) => {
                let msg = format!("{msg} (in task `{name}` at {})", include.location);
                self.include_result(index, include, &name, None, Status::Failed, &msg);
                self.stats.failed += 1;
                return Flow::failed(msg, include);
            }
        };
        let loop_var = super::task::loop_var_name(include, &scope);
        let all: Vec<Json> = items.iter().flatten().cloned().collect();
        // As Ansible's linear strategy: every item is decided (its `when`, the file or role
        // it names) and reported first; then the included tasks run, item after item.
        let mut chosen_runs = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let loop_vars = item
                .as_ref()
                .map(|_| super::task::loop_vars(include, &loop_var, &all, i));
            let scope = self.task_scope(include, loop_vars.clone());
            let label = item
                .as_ref()
                .map(|i| self.masker.mask(&super::task::label(i)).into_owned());
            let mut skipped = None;
            for cond in &include.when {
                match self.answering(include, &scope, |_| scope.eval_bool(cond.as_str())) {
                    Ok(true) => {}
                    Ok(false) => {
                        skipped = Some(format!("conditional result was false: `{cond}`"));
                        break;
                    }
                    Err(e) => {
                        let msg = format!("`when`: {e} (in task `{name}` at {})", include.location);
                        let msg = self.masker.mask(&msg).into_owned();
                        self.include_result(index, include, &name, label, Status::Failed, &msg);
                        self.stats.failed += 1;
                        return Flow::failed(msg, include);
                    }
                }
            }
            if let Some(why) = skipped {
                self.include_result(index, include, &name, label, Status::Skipped, &why);
                continue;
            }
            let chosen = self.answering(include, &scope, |r| {
                r.included_tasks(index, include, &scope)
            });
            let (tasks, first, chosen) = match chosen {
                Ok(chosen) => chosen,
                Err(msg) => {
                    self.include_result(index, include, &name, label, Status::Failed, &msg);
                    self.stats.failed += 1;
                    return Flow::failed(msg, include);
                }
            };
            // A templated name says what it rendered to (the file or role it chose).
            let shown = chosen.unwrap_or("included");
            self.include_result(index, include, &name, label, Status::Ok, shown);
            chosen_runs.push((tasks, first, loop_vars));
        }
        let ran = !chosen_runs.is_empty();
        if ran {
            self.share_role_vars(include);
            self.included.insert(include.location.clone());
            if let Some(id) = include.role_instance {
                self.roles_run.insert(id);
            }
        }
        for (tasks, first, loop_vars) in chosen_runs {
            self.scoped.push((include.vars.clone(), false));
            self.scoped.push((loop_vars.unwrap_or_default(), true));
            let flow = self.run_list(tasks, first);
            self.scoped.truncate(self.scoped.len() - 2);
            if !matches!(flow, Flow::Next) {
                return flow;
            }
        }
        if ran {
            self.stats.ok += 1;
        } else {
            self.stats.skipped += 1;
        }
        Flow::Next
    }

    /// The tasks an include runs, with the index of the first: all of `block`, or for a
    /// templated file name the child block named as it renders now (and that name).
    fn included_tasks<'t>(
        &self,
        index: usize,
        include: &'t Task,
        scope: &crate::template::Scope,
    ) -> Result<(&'t [Task], usize, Option<&'t str>), String> {
        let Some(template) = &include.include_file else {
            return Ok((&include.block, index + 1, None));
        };
        let file = scope.render_string(template).map_err(|e| {
            self.masker
                .mask(&format!(
                    "the file name of the include at {}: {e}",
                    include.location
                ))
                .into_owned()
        })?;
        // A name may render to the file's path (`lookup('first_found', ...)` gives one):
        // the child named as its end is that file.
        let names = |child: &str| child == file || std::path::Path::new(&file).ends_with(child);
        let mut at = index + 1;
        for child in &include.block {
            if child.name.as_deref().is_some_and(names) {
                return Ok((&child.block, at + 1, child.name.as_deref()));
            }
            at += child.size();
        }
        Err(self
            .masker
            .mask(&format!(
                "the include at {} names `{file}`, which dr did not resolve before the play: dr reads included files on the controller, the name rendered with inventory, play and extra vars, or every file its pattern matches where it cannot render there; check that `{file}` exists",
                include.location
            ))
            .into_owned())
    }

    /// What a `public` `include_role` shares with the tasks after it: its role vars over
    /// the host's variables of that rank and below, its defaults where nothing else is set.
    fn share_role_vars(&mut self, include: &Task) {
        for (k, v) in &include.public_defaults {
            if !self.vars.contains_key(k) {
                self.vars.insert(k.clone(), v.clone());
                self.raw.remove(k);
            }
        }
        for (k, v) in &include.public_vars {
            self.vars.insert(k.clone(), v.clone());
            self.raw.remove(k);
        }
    }

    fn include_result(
        &mut self,
        index: usize,
        include: &Task,
        name: &str,
        item: Option<String>,
        status: Status,
        msg: &str,
    ) {
        let result = self.callback_include(include).map(|mut m| {
            match status {
                Status::Failed => {
                    m.insert("failed".into(), Json::Bool(true));
                    m.insert("msg".into(), Json::from(msg));
                }
                Status::Skipped => {
                    m.insert("skipped".into(), Json::Bool(true));
                    m.insert(
                        "skip_reason".into(),
                        Json::from("Conditional result was False"),
                    );
                }
                _ if include.include_file.is_some() => {
                    m.insert("_dr_include".into(), Json::from(msg));
                }
                _ => {}
            }
            if let Some(label) = &item {
                m.insert("_ansible_item_label".into(), Json::from(label.clone()));
            }
            m
        });
        self.emit(Event::TaskResult {
            index,
            handler: self.in_handler,
            name: name.to_owned(),
            item,
            status,
            msg: msg.to_owned(),
            diffs: Vec::new(),
            detail: Map::new(),
            ignored: false,
            dangerous: false,
            duration_ms: 0,
            on: None,
            result: result.map(Box::new),
        });
    }
}

/// The failure the batch gives a host that did not fail itself (`any_errors_fatal`,
/// `max_fail_percentage`): not counted as a failure of its own, not rescued as one.
fn forced_failure(msg: String, shown: String, task: &Task) -> Flow {
    let mut result = Map::new();
    result.insert("failed".into(), Json::Bool(true));
    result.insert("msg".into(), Json::from(msg));
    Flow::Failed(Failure {
        msg: shown,
        task: failed_task(task),
        result,
        counted: false,
        forced: true,
    })
}

/// The task's name, or its module.
fn task_label(task: &Task) -> &str {
    task.name.as_deref().unwrap_or(&task.module)
}

/// `ansible_failed_task`: the parts of the task a rescue reads.
fn failed_task(task: &Task) -> Json {
    let mut m = Map::new();
    m.insert(
        "name".into(),
        Json::from(task.name.clone().unwrap_or_else(|| task.module.clone())),
    );
    m.insert("action".into(), Json::from(task.module.clone()));
    m.insert("args".into(), task.args.clone());
    m.insert("location".into(), Json::from(task.location.clone()));
    Json::Object(m)
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
