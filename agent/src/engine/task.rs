//! One task: its name, its loop, its registered result, its events.

use std::time::Instant;

use serde_json::{Map, Value as Json};

use super::item::ItemResult;
use super::{NO_LOG_MSG, Runner, TaskEnd};
use crate::template::Scope;
use crate::wire::{Event, Status, Task};

impl Runner<'_> {
    /// Runs `task` (index `index` in the tasks, or in the handlers when `handler`) and
    /// emits its events.
    pub(super) fn run_task(&mut self, index: usize, handler: bool, task: &Task) -> TaskEnd {
        // The tasks a handler includes show (and are counted) as handlers, as in Ansible.
        let handler = handler || self.in_handler;
        let started = Instant::now();
        let scope = self.task_scope(task, None);
        let name = self.display_name(task, &scope);
        self.emit(Event::TaskStart {
            index,
            handler,
            name: name.clone(),
            title: self.callback_title(task, &name),
        });
        let resolved;
        let task = match ignore_errors(task, &scope).and_then(|i| {
            Ok((
                i,
                templated_bool("no_log", task.no_log_when.as_ref(), &scope)?,
            ))
        }) {
            Ok((None, None)) => task,
            Ok((ignore, no_log)) => {
                resolved = Task {
                    ignore_errors: ignore.unwrap_or(task.ignore_errors),
                    ignore_errors_when: None,
                    no_log: no_log.unwrap_or(task.no_log),
                    no_log_when: None,
                    ..task.clone()
                };
                &resolved
            }
            Err(msg) => {
                let mut result = ItemResult::failed(msg);
                result.duration_ms = started.elapsed().as_millis() as u64;
                drop(scope);
                return self.finish_task(index, handler, task, &name, None, vec![(None, result)]);
            }
        };

        let items = match self.answering(task, &scope, |r| r.loop_items(task, &scope)) {
            Ok(items) => items,
            Err(msg) => {
                // As in Ansible, a loop that cannot be rendered fails the task only when
                // its `when` holds: `when: x is defined` skips a loop over an undefined x.
                let unmet = task
                    .when
                    .iter()
                    .find(|c| matches!(scope.eval_bool(c.as_str()), Ok(false)));
                let mut result = match unmet {
                    Some(cond) => super::item::skipped(cond),
                    None => ItemResult::failed(msg),
                };
                result.duration_ms = started.elapsed().as_millis() as u64;
                drop(scope);
                return self.finish_task(index, handler, task, &name, None, vec![(None, result)]);
            }
        };
        let loop_var = loop_var_name(task, &scope);
        let mut results = Vec::new();
        match items {
            None => {
                let result = self.run_one(task, &name, &scope);
                results.push((None, result));
            }
            Some(items) if items.is_empty() => {
                results.push((None, super::item::no_items()));
            }
            Some(items) => {
                // As Ansible: each item's result is the registered variable from then on,
                // for the label and for the next item's conditions.
                let mut previous: Option<Map<String, Json>> = None;
                let mut made = super::made::per_item(task, &scope, &items).into_iter();
                for (i, item) in items.iter().cloned().enumerate() {
                    if i > 0
                        && let Some(pause) = task.loop_pause.filter(|p| p.is_finite() && *p > 0.0)
                    {
                        std::thread::sleep(std::time::Duration::from_secs_f64(pause.min(86_400.0)));
                    }
                    let mut extra = loop_vars(task, &loop_var, &items, i);
                    if let (Some(register), Some(previous)) = (&task.register, previous.take()) {
                        extra.insert(register.clone(), Json::Object(previous));
                    }
                    let scope = self
                        .task_scope(task, Some(extra))
                        .with_made(made.next().unwrap_or_default());
                    let mut result = self.run_one(task, &name, &scope);
                    let shown = match &task.loop_label {
                        Some(l) => self
                            .with_registered(task, &scope, &result.register)
                            .render_string(l)
                            .unwrap_or_else(|e| {
                                label_failed(&mut result, &self.masker.mask(&e.in_jinja_words()));
                                label(&item)
                            }),
                        None => label(&item),
                    };
                    previous = Some(result.register.clone());
                    let label = self.masker.mask(&shown).into_owned();
                    // Facts set by one item are visible to the next, as in Ansible.
                    self.set_facts(task, &result.facts, result.facts_cacheable);
                    self.emit_result(
                        index,
                        handler,
                        task,
                        &name,
                        Some((label.clone(), &loop_var, &item)),
                        &result,
                    );
                    let stop = match self.break_when(task, &scope, &result) {
                        Ok(stop) => stop,
                        Err(msg) => {
                            results.push((Some(item), result));
                            let mut failed = ItemResult::failed(msg);
                            failed.duration_ms = 0;
                            results.push((None, failed));
                            break;
                        }
                    };
                    results.push((Some(item), result));
                    if stop {
                        break;
                    }
                }
            }
        }
        // The task's scope goes before its result is registered: while a scope reads the
        // shared `hostvars`, changing this host's entry would copy every host's.
        drop(scope);
        self.finish_task(index, handler, task, &name, Some(loop_var), results)
    }

    /// Shows `task` started and failed with `msg` before any of it ran (a keyword that
    /// cannot be read, as `throttle`). `ignorable`: its `ignore_errors` covers the failure
    /// (not where Ansible stops the whole run instead).
    pub(super) fn refuse_task(
        &mut self,
        index: usize,
        handler: bool,
        task: &Task,
        msg: &str,
        ignorable: bool,
    ) -> TaskEnd {
        let handler = handler || self.in_handler;
        let scope = self.task_scope(task, None);
        let name = self.display_name(task, &scope);
        let ignored =
            ignorable && (task.ignore_errors || ignore_errors(task, &scope) == Ok(Some(true)));
        drop(scope);
        self.emit(Event::TaskStart {
            index,
            handler,
            name: name.clone(),
            title: self.callback_title(task, &name),
        });
        let result = ItemResult::failed(self.masker.mask(msg).into_owned());
        let task = Task {
            ignore_errors: ignored,
            ignore_errors_when: None,
            ..task.clone()
        };
        self.finish_task(index, handler, &task, &name, None, vec![(None, result)])
    }

    /// Registers, counts and (for a task without loop) emits the result.
    fn finish_task(
        &mut self,
        index: usize,
        handler: bool,
        task: &Task,
        name: &str,
        loop_var: Option<String>,
        results: Vec<(Option<Json>, ItemResult)>,
    ) -> TaskEnd {
        let looped = results.iter().any(|(item, _)| item.is_some());
        if task.no_log {
            results.iter().for_each(|(_, r)| self.no_log_output(r));
        }
        if !looped && let Some((_, result)) = results.first() {
            self.set_facts(task, &result.facts, result.facts_cacheable);
            self.emit_result(index, handler, task, name, None, result);
        }
        let any = |f: &dyn Fn(&ItemResult) -> bool| results.iter().any(|(_, r)| f(r));
        let failed = any(&|r| r.status == Status::Failed);
        let changed = any(&|r| r.status == Status::Changed);
        let all_skipped =
            !results.is_empty() && results.iter().all(|(_, r)| r.status == Status::Skipped);
        let flush = any(&|r| r.flush);
        let end_host = any(&|r| r.end_host);
        if failed {
            self.stats.failed += 1;
        } else if changed {
            self.stats.changed += 1;
        } else if all_skipped {
            self.stats.skipped += 1;
        } else {
            self.stats.ok += 1;
        }

        if let Some(register) = &task.register {
            let value = if looped {
                let var = loop_var.unwrap_or_else(|| "item".to_owned());
                let summary = super::loop_result::Summary {
                    changed,
                    failed,
                    all_skipped,
                };
                super::loop_result::loop_result(&results, &var, &summary)
            } else {
                results
                    .first()
                    .map(|(_, r)| Json::Object(r.register.clone()))
                    .unwrap_or(Json::Null)
            };
            self.set_fact(register, value);
            self.stronger.insert(register.clone());
            if !looped && !failed && trusted_result(task) {
                self.raw.remove(register);
            }
        }

        let unreachable = results
            .iter()
            .all(|(_, r)| r.status != Status::Failed || r.is_unreachable());
        // An unreachable host is not a failure `ignore_errors` covers: only
        // `ignore_unreachable` lets the host go on (as in Ansible).
        let ignored = if unreachable {
            task.ignore_unreachable || self.request.unreachable.is_some()
        } else {
            task.ignore_errors
        };
        let fatal = if failed && !ignored {
            let (msg, result) = results
                .iter()
                .find(|(_, r)| r.status == Status::Failed)
                .map(|(_, r)| (r.msg.clone(), r.register.clone()))
                .unwrap_or_default();
            if msg.contains(&task.location) {
                Some((msg, result))
            } else {
                Some((
                    format!("{msg} (in task `{name}` at {})", task.location),
                    result,
                ))
            }
        } else {
            None
        };
        // As Ansible, which skips a command in check mode: a "would run" notifies nothing.
        let notifies = any(&|r| r.status == Status::Changed && !r.unpredictable);
        let status = if failed {
            Status::Failed
        } else if changed {
            Status::Changed
        } else if all_skipped {
            Status::Skipped
        } else {
            Status::Ok
        };
        let msg = results
            .iter()
            .find(|(_, r)| r.status == Status::Failed)
            .or(results.last())
            .map(|(_, r)| r.msg.clone())
            .unwrap_or_default();
        TaskEnd {
            changed: notifies,
            fatal,
            flush,
            end_host,
            status,
            msg,
            unreachable: failed && unreachable,
        }
    }

    fn emit_result(
        &mut self,
        index: usize,
        handler: bool,
        task: &Task,
        name: &str,
        looped: Option<(String, &str, &Json)>,
        result: &ItemResult,
    ) {
        let callback = self.callback_result(
            task,
            result,
            looped.as_ref().map(|(_, var, value)| (*var, *value)),
            looped.as_ref().map(|(label, _, _)| label.as_str()),
        );
        let item = looped.map(|(label, _, _)| label);
        let (msg, diffs, detail) = if task.no_log {
            (NO_LOG_MSG.to_owned(), Vec::new(), Map::new())
        } else {
            for text in &result.messages {
                let text = self.masker.mask(text).into_owned();
                self.emit(Event::Message { text });
            }
            (
                result.shown_msg(),
                result.diffs.clone(),
                result.detail.clone(),
            )
        };
        self.emit(Event::TaskResult {
            index,
            handler,
            name: name.to_owned(),
            item,
            status: result.status,
            msg,
            diffs,
            detail,
            ignored: result.status == Status::Failed
                && if result.is_unreachable() {
                    task.ignore_unreachable || self.request.unreachable.is_some()
                } else {
                    task.ignore_errors
                },
            dangerous: result.dangerous,
            duration_ms: result.duration_ms,
            on: result.on.clone(),
            result: callback.map(Box::new),
        });
    }

    /// What a `no_log` task produced (its registered output and facts, not the
    /// bookkeeping every result has, nor a file's metadata) is a secret from now on: later
    /// tasks that show it show it masked. (A file's `state: directory` or its owner made
    /// secret would mask those words in every later message.)
    fn no_log_output(&self, result: &ItemResult) {
        const BOOKKEEPING: &[&str] = &[
            "changed",
            "failed",
            "skipped",
            "msg",
            "cmd",
            "rc",
            "start",
            "end",
            "delta",
            "attempts",
            "skip_reason",
            "false_condition",
            "ansible_loop_var",
            "state",
            "path",
            "dest",
            "src",
            "mode",
            "owner",
            "group",
            "uid",
            "gid",
            "size",
            "checksum",
            "md5sum",
            "secontext",
        ];
        for (k, v) in &result.register {
            if !BOOKKEEPING.contains(&k.as_str()) {
                self.masker.add_leaves(v);
            }
        }
        result
            .facts
            .values()
            .for_each(|v| self.masker.add_leaves(v));
    }

    /// The facts a task's result sets. `include_vars` sits below `set_fact` and
    /// registered results (Ansible's precedence): it does not replace what they set. A
    /// cacheable `set_fact` sets each fact both ways, as Ansible's strategy does: as a host
    /// fact (what the fact cache keeps, also under `ansible_facts`) and above play vars.
    fn set_facts(&mut self, task: &Task, facts: &Map<String, Json>, cacheable: bool) {
        let included = task.module == "include_vars";
        // `set_fact` and `include_vars` set variables; other modules report facts of the
        // host (`setup`, `ansible_facts` in a result), which rank lower.
        let gathered = !included && task.module != "set_fact";
        if cacheable && !gathered && !included {
            self.cache_facts(facts);
        }
        for (k, v) in facts {
            if included && self.stronger.contains(k) {
                continue;
            }
            if gathered {
                self.set_host_fact(k, v.clone());
                continue;
            }
            self.set_fact(k, v.clone());
            if included {
                // A vars file's values are templates, rendered when used (as a play's
                // vars are), where a `set_fact` value is data.
                self.raw.remove(k);
            } else {
                self.stronger.insert(k.clone());
                // A value written with no template stays as trusted as the playbook that
                // wrote it, as in Ansible (only a template's result is data).
                if task.module == "set_fact" && task.args.get(k).is_some_and(|a| !has_template(a)) {
                    self.raw.remove(k);
                }
            }
        }
    }

    /// Host facts from a cacheable `set_fact`: each under its name, and in the
    /// `ansible_facts` namespace without an `ansible_` prefix (as Ansible derives it from
    /// its fact cache).
    pub(super) fn cache_facts(&mut self, facts: &Map<String, Json>) {
        let mut namespace = match self.host_facts.get("ansible_facts") {
            Some(Json::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        for (k, v) in facts {
            self.set_host_fact(k, v.clone());
            let short = match k.strip_prefix("ansible_") {
                Some(rest) if k != "ansible_local" => rest,
                _ => k.as_str(),
            };
            namespace.insert(short.to_owned(), v.clone());
        }
        self.set_host_fact("ansible_facts", Json::Object(namespace));
    }

    /// `loop_control.break_when` after an item: whether the loop stops here.
    fn break_when(&self, task: &Task, scope: &Scope, result: &ItemResult) -> Result<bool, String> {
        if task.break_when.is_empty() {
            return Ok(false);
        }
        let scope = self.with_registered(task, scope, &result.register);
        for cond in &task.break_when {
            match scope.eval_bool(cond) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => {
                    return Err(self
                        .masker
                        .mask(&format!("`break_when`: {e} (in task at {})", task.location))
                        .into_owned());
                }
            }
        }
        Ok(true)
    }

    /// The variables a task sees, in Ansible's precedence: the request's (inventory, play,
    /// role vars), the task's `vars` (block vars included), facts and registered results,
    /// the enclosing includes' `vars` and loop variables, extra vars, then `extra` (this
    /// task's loop variables).
    pub(super) fn task_scope(&self, task: &Task, extra: Option<Map<String, Json>>) -> Scope {
        let mut vars = self.vars.clone();
        let mut raw = self.raw.clone();
        for (k, v) in &task.role_defaults {
            if !vars.contains_key(k) {
                vars.insert(k.clone(), v.clone());
                raw.remove(k);
            }
        }
        for (k, v) in &task.vars {
            vars.insert(k.clone(), v.clone());
            raw.remove(k);
        }
        self.add_facts(&mut vars, &mut raw, Some(&task.vars));
        for name in &task.params {
            if let Some(v) = task.vars.get(name) {
                vars.insert(name.clone(), v.clone());
                raw.remove(name);
            }
        }
        for (scoped, data) in &self.scoped {
            for (k, v) in scoped {
                vars.insert(k.clone(), v.clone());
                if *data {
                    raw.insert(k.clone());
                } else {
                    raw.remove(k);
                }
            }
        }
        for name in &self.request.extra_vars {
            if let Some(v) = self.request.var(name) {
                vars.insert(name.clone(), v.clone());
                raw.remove(name);
            }
        }
        if let Some(extra) = extra {
            // Loop items were rendered when the loop was; they are data now.
            raw.extend(extra.keys().cloned());
            vars.extend(extra);
        }
        // `ansible_check_mode` is the run's (`--check`/`dr plan`), whatever the task's
        // `check_mode` says, as in Ansible.
        self.templater
            .scope_sharing(vars, self.hostvars.clone(), raw)
    }

    /// The rendered, masked name shown for the task.
    pub(super) fn display_name(&self, task: &Task, scope: &Scope) -> String {
        let name = match &task.name {
            Some(n) => scope.render_string(n).unwrap_or_else(|_| n.clone()),
            None => {
                // Ansible shows the module name; a free-form command line is worth showing.
                let summary = match &task.args {
                    Json::String(s) => s.clone(),
                    _ => String::new(),
                };
                let module = task.written_module();
                if summary.is_empty() {
                    module.to_owned()
                } else {
                    let short: String = summary.chars().take(60).collect();
                    format!("{module}: {short}")
                }
            }
        };
        self.masker.mask(&name).into_owned()
    }

    /// The loop's items, `None` without a loop.
    pub(super) fn loop_items(
        &self,
        task: &Task,
        scope: &Scope,
    ) -> Result<Option<Vec<Json>>, String> {
        let Some(raw) = &task.loop_ else {
            return Ok(None);
        };
        if let Some(lookup) = &task.loop_with {
            let rendered = if crate::template::lookup::plugin(lookup) == Some("first_found") {
                lenient_terms(scope, raw)
            } else {
                scope.render_value(raw)
            };
            let terms = rendered
                .map_err(|e| format!("`with_{lookup}`: {}", self.masker.mask(&e.to_string())))?;
            return self
                .templater
                .loop_lookup(lookup, terms, task.written_module(), scope)
                .map(Some)
                .map_err(|e| self.masker.mask(&e).into_owned());
        }
        match scope.render_value(raw) {
            Ok(Json::Array(items)) => Ok(Some(items)),
            Ok(Json::Null) => Err("the `loop` value must resolve to a list, not null".into()),
            Ok(other) => Err(format!(
                "`loop` must be a list, found `{}`",
                self.masker.mask(&other.to_string())
            )),
            Err(e) => Err(format!("`loop`: {}", self.masker.mask(&e.to_string()))),
        }
    }
}

/// The loop variable, `index_var` and (with `extended`) `ansible_loop` for item `i` of
/// `len`.
/// `loop_control.loop_var` (`item` by default), rendered when it is a template.
/// A templated `ignore_errors:` rendered and read as Ansible reads a boolean keyword;
/// `None` when it is written as a plain boolean.
pub(super) fn ignore_errors(task: &Task, scope: &Scope) -> Result<Option<bool>, String> {
    templated_bool("ignore_errors", task.ignore_errors_when.as_ref(), scope)
}

/// A boolean keyword written as a template (`template`), rendered and read as Ansible
/// reads a boolean keyword; `None` when it is written as a plain boolean.
fn templated_bool(
    keyword: &str,
    template: Option<&String>,
    scope: &Scope,
) -> Result<Option<bool>, String> {
    let Some(template) = template else {
        return Ok(None);
    };
    let value = scope
        .render_value(&Json::String(template.clone()))
        .map_err(|e| format!("`{keyword}`: {}", e.in_jinja_words()))?;
    crate::modules::args::json_bool(&value)
        .map(Some)
        .ok_or_else(|| {
            format!(
                "`{keyword}`: the value {} is not a valid boolean",
                crate::template::pyrepr::repr_json(&value)
            )
        })
}

pub(super) fn loop_var_name(task: &Task, scope: &Scope) -> String {
    match &task.loop_var {
        None => "item".to_owned(),
        Some(v) if v.contains("{{") => scope.render_string(v).unwrap_or_else(|_| v.clone()),
        Some(v) => v.clone(),
    }
}

/// The loop variables of item `i` of `items`: the item, `loop_control.index_var`, and
/// with `extended` Ansible's `ansible_loop`.
/// As Ansible: a `loop_control.label` that cannot be rendered fails its item.
fn label_failed(result: &mut ItemResult, error: &str) {
    let msg = format!("Failed to template loop_control.label: {error}");
    result.status = Status::Failed;
    result.register.insert("failed".into(), Json::Bool(true));
    result
        .register
        .insert("msg".into(), Json::from(msg.clone()));
    result.msg = msg;
}

pub(super) fn loop_vars(task: &Task, var: &str, items: &[Json], i: usize) -> Map<String, Json> {
    let len = items.len();
    let mut m = Map::new();
    m.insert(var.to_owned(), items[i].clone());
    m.insert("ansible_loop_var".into(), Json::from(var));
    if let Some(index_var) = &task.index_var {
        m.insert(index_var.clone(), Json::from(i));
        m.insert("ansible_index_var".into(), Json::from(index_var.clone()));
    }
    if !task.loop_extended {
        return m;
    }
    let mut info = Map::new();
    info.insert("index".into(), Json::from(i + 1));
    info.insert("index0".into(), Json::from(i));
    info.insert("first".into(), Json::Bool(i == 0));
    info.insert("last".into(), Json::Bool(i + 1 == len));
    info.insert("length".into(), Json::from(len));
    info.insert("revindex".into(), Json::from(len - i));
    info.insert("revindex0".into(), Json::from(len - i - 1));
    if i > 0 {
        info.insert("previtem".into(), items[i - 1].clone());
    }
    if let Some(next) = items.get(i + 1) {
        info.insert("nextitem".into(), next.clone());
    }
    if !task.loop_without_allitems {
        info.insert("allitems".into(), Json::Array(items.to_vec()));
    }
    m.insert("ansible_loop".into(), Json::Object(info));
    m
}

/// How an item is shown: strings as they are, bytes (`!!binary`) as Python's `str()`
/// shows them (`b'...'`), the rest as JSON.
pub(super) fn label(item: &Json) -> String {
    match item {
        Json::String(s) if let Some(bytes) = crate::pybytes::decode(s) => {
            crate::pybytes::repr(&bytes)
        }
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a registered result of `task` holds only what a trusted source wrote: an
/// `include_vars` result's `ansible_facts` are the file's values (templates rendered when
/// used, as through the variables it set), and a `set_fact` that rendered no template
/// returns what the playbook wrote. Any other result is data, never a template, as in
/// Ansible (a template's result, a module's output).
fn trusted_result(task: &Task) -> bool {
    match task.module.as_str() {
        "include_vars" => true,
        "set_fact" => !has_template(&task.args),
        _ => false,
    }
}

/// Whether any string in `v` is a template.
fn has_template(v: &Json) -> bool {
    match v {
        Json::String(s) => crate::template::is_template(s),
        Json::Array(items) => items.iter().any(has_template),
        Json::Object(map) => map.values().any(has_template),
        _ => false,
    }
}

/// `first_found`'s terms rendered as Ansible's plugin takes them: an entry whose template
/// is undefined (`"{{ missing }}.yml"`, in a list or under `files`, also inside a variable
/// the term names) is kept as undefined, and the plugin skips it.
fn lenient_terms(
    scope: &crate::template::Scope,
    v: &Json,
) -> Result<Json, crate::template::TemplateError> {
    use crate::template::TemplateError;
    match v {
        Json::Array(items) => items.iter().map(|i| lenient_terms(scope, i)).collect(),
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), lenient_terms(scope, v)?)))
            .collect::<Result<Map<String, Json>, _>>()
            .map(Json::Object),
        Json::String(s) => match scope.render_marking_undefined(v) {
            Err(TemplateError::Undefined { .. }) => {
                // A term that is one variable holding a list or mapping (`"{{ files }}"`):
                // its entries, each on its own.
                match named_variable(s).and_then(|name| scope.vars().get(name)) {
                    Some(held @ (Json::Array(_) | Json::Object(_))) => lenient_terms(scope, held),
                    _ => Ok(crate::template::lookup::undefined_term()),
                }
            }
            other => other,
        },
        other => Ok(other.clone()),
    }
}

/// `name` when `s` is the template `{{ name }}`.
fn named_variable(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(inner)
}
