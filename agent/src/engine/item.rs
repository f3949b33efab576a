//! One run of a task's module (one loop item): `when`, the module's check and apply,
//! `changed_when`, `failed_when`, `until`/`retries`.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use super::sync::MAX_ASKS;
use super::verdict::{Verdict, all_hold};
use super::{Runner, reads};
use crate::detail;
use crate::modules::{self, Context, Module, Outcome, PLANNED};
use crate::template::Scope;
use crate::wire::{Condition, Diff, Mode, Status, Task};

/// The result of one item, already masked for display (`register` keeps raw values).
#[derive(Debug, Clone)]
pub(super) struct ItemResult {
    pub status: Status,
    /// Masked message.
    pub msg: String,
    /// Masked detail of the result (`cmd`, `rc`, `stdout`, `stderr`, the failed condition
    /// and its values): see [`crate::detail`].
    pub detail: Map<String, Json>,
    /// Masked diffs (empty unless the request asked for diffs).
    pub diffs: Vec<Diff>,
    /// Unmasked operator messages (`debug`); masked when emitted.
    pub messages: Vec<String>,
    pub dangerous: bool,
    pub duration_ms: u64,
    /// The value `register:` stores.
    pub register: Map<String, Json>,
    pub facts: Map<String, Json>,
    /// The facts are cacheable (`set_fact` with `cacheable: true`): host facts as well.
    pub facts_cacheable: bool,
    pub flush: bool,
    /// `meta: end_host` (and friends) ran.
    pub end_host: bool,
    /// A check-mode plan that cannot tell what it would change (notifies no handler).
    pub unpredictable: bool,
    /// The host the item ran on, when not this one (`delegate_to`).
    pub on: Option<String>,
    /// The inventory change the item asks the controller for (`add_host`, `group_by`).
    pub inventory: Option<crate::wire::InventoryChange>,
    /// The arguments the module ran with, for Ansible's `invocation` (`Request::invocation`).
    pub invocation: Option<Json>,
}

impl ItemResult {
    /// The message as shown: for a failure, followed by its detail (the tail of the
    /// output, the failed condition and its values).
    pub fn shown_msg(&self) -> String {
        if self.status != Status::Failed {
            return self.msg.clone();
        }
        let mut lines = vec![self.msg.clone()];
        lines.extend(detail::lines(&self.detail, Some(detail::TAIL_LINES)));
        lines.retain(|l| !l.is_empty());
        lines.join("\n")
    }

    /// A failure before the module could run.
    pub fn failed(msg: String) -> Self {
        let mut register = Map::new();
        register.insert("changed".into(), Json::Bool(false));
        register.insert("failed".into(), Json::Bool(true));
        register.insert("msg".into(), Json::from(msg.clone()));
        no_traceback(&mut register);
        ItemResult {
            status: Status::Failed,
            msg,
            detail: Map::new(),
            diffs: Vec::new(),
            messages: Vec::new(),
            dangerous: false,
            duration_ms: 0,
            register,
            facts: Map::new(),
            facts_cacheable: false,
            flush: false,
            end_host: false,
            unpredictable: false,
            on: None,
            inventory: None,
            invocation: None,
        }
    }

    /// The host could not be reached for this item (see `Request::unreachable`): Ansible's
    /// unreachable result, which the play ignores.
    pub fn unreachable(msg: String) -> Self {
        let mut result = ItemResult::failed(msg.clone());
        result.register.remove("failed");
        result
            .register
            .insert("unreachable".into(), Json::Bool(true));
        result.detail = detail::of(&result.register);
        result
    }

    /// Whether this is an unreachable result (ignored: see [`ItemResult::unreachable`]).
    pub fn is_unreachable(&self) -> bool {
        self.register.get("unreachable") == Some(&Json::Bool(true))
    }

    /// The result another host sent (a delegated item).
    pub fn from_shared(shared: crate::wire::Shared) -> Self {
        ItemResult {
            status: shared.status,
            msg: shared.msg,
            detail: shared.detail,
            diffs: shared.diffs,
            messages: Vec::new(),
            dangerous: shared.dangerous,
            duration_ms: 0,
            register: shared.register,
            facts: shared.facts,
            facts_cacheable: false,
            flush: false,
            end_host: false,
            unpredictable: false,
            on: Some(shared.on),
            inventory: None,
            invocation: None,
        }
    }
}

impl Runner<'_> {
    /// Runs one item of `task` (see [`Runner::run_one_once`]). An item that failed before
    /// any module acted, for want of a controller lookup's answer (its terms depend on a
    /// fact or a registered result), runs again once the controller answered.
    pub(super) fn run_one(&mut self, task: &Task, name: &str, scope: &Scope) -> ItemResult {
        let mut asked = 0;
        self.lookups.new_item();
        // What templates warned about before this item is not its to report.
        drop(crate::template::warnings::take());
        loop {
            self.lookups.begin();
            let mut result = self.run_one_once(task, name, scope);
            if result.status != Status::Failed
                || asked == MAX_ASKS
                || !self.lookups.may_rerun()
                || !self.ask_lookups(task, scope)
            {
                with_template_warnings(&mut result.register);
                if let Some(warnings) = result.register.get("warnings") {
                    // Shown under the task's line (see `detail`).
                    let warnings = self.masker.mask_value(warnings);
                    result.detail.insert("warnings".into(), warnings);
                }
                return result;
            }
            asked += 1;
        }
    }

    /// Runs one item of `task` here, or where `delegate_to` names (after its `when`, which
    /// is this host's, as in Ansible).
    fn run_one_once(&mut self, task: &Task, name: &str, scope: &Scope) -> ItemResult {
        let Some(to) = &task.delegate_to else {
            let mut result = self.run_here(task, name, scope);
            if let Some(Json::Object(handoff)) =
                result.register.remove(crate::modules::fetch::HANDOFF)
            {
                self.hand_off(handoff, &mut result);
            }
            if let Some(change) = result.inventory.take() {
                self.change_inventory(change, &mut result);
                // As Ansible: `changed_when` reads the result the inventory change gave.
                if !task.changed_when.is_empty() && result.status != Status::Failed {
                    let with = self.with_registered(task, scope, &result.register);
                    match all_hold(&with, &task.changed_when) {
                        Ok(changed) => {
                            result.status = if changed { Status::Changed } else { Status::Ok };
                            result
                                .register
                                .insert("changed".into(), Json::Bool(changed));
                        }
                        Err(e) => {
                            result = ItemResult::failed(
                                self.masker
                                    .mask(&format!(
                                        "`changed_when`: {e} (in task `{name}` at {})",
                                        task.location
                                    ))
                                    .into_owned(),
                            );
                        }
                    }
                }
            }
            return result;
        };
        let started = Instant::now();
        for cond in &task.when {
            match scope.eval_bool(cond.as_str()) {
                Ok(true) => {}
                Ok(false) => return skipped(cond),
                // The module run reports the condition's error with its location.
                Err(_) => return self.run_item(task, name, scope),
            }
        }
        let to = match scope.render_string(to) {
            Ok(to) => to.trim().to_owned(),
            Err(e) => {
                return ItemResult::failed(
                    self.masker
                        .mask(&format!(
                            "`delegate_to`: {e} (in task `{name}` at {})",
                            task.location
                        ))
                        .into_owned(),
                );
            }
        };
        let me = scope
            .vars()
            .get("inventory_hostname")
            .and_then(Json::as_str)
            .unwrap_or(&self.request.host);
        if to.is_empty() || to == me {
            return self.run_here(task, name, scope);
        }
        let mut result = self.delegate(task, &to, scope);
        result.duration_ms = started.elapsed().as_millis() as u64;
        result
    }

    /// Runs the module of `task` once with `scope` on this host: here, or over a connection
    /// of its own when its connection variables or keywords are not the play's (Ansible
    /// connects again for such a task) and its `when` holds.
    fn run_here(&mut self, task: &Task, name: &str, scope: &Scope) -> ItemResult {
        let reconnect = self.link.is_connected()
            && !super::controller_side(task)
            && self.request.unreachable.is_none()
            && (self.connection.changed_in(scope).is_err()
                || !super::connection_vars::keyword_vars(task, self.request, scope).is_empty())
            && task
                .when
                .iter()
                .all(|c| matches!(scope.eval_bool(c.as_str()), Ok(true)));
        if !reconnect {
            return self.run_item(task, name, scope);
        }
        let started = Instant::now();
        let mut result = self.reconnect(task, scope);
        result.duration_ms = started.elapsed().as_millis() as u64;
        result
    }

    /// Runs the module of `task` once with `scope`.
    pub(super) fn run_item(&self, task: &Task, name: &str, scope: &Scope) -> ItemResult {
        let started = Instant::now();
        let mut result = self.run_item_inner(task, name, scope);
        result.duration_ms = started.elapsed().as_millis() as u64;
        result
    }

    fn run_item_inner(&self, task: &Task, name: &str, scope: &Scope) -> ItemResult {
        let mask = |s: &str| self.masker.mask(s).into_owned();
        let located = |e: String| mask(&format!("{e} (in task `{name}` at {})", task.location));
        for cond in &task.when {
            match scope.eval_bool(cond.as_str()) {
                Ok(true) => {}
                Ok(false) => return skipped(cond),
                Err(e) => return ItemResult::failed(located(format!("`when`: {e}"))),
            }
        }
        if let Some(why) = &self.request.unreachable
            && !super::controller_side(task)
        {
            return ItemResult::unreachable(mask(why));
        }
        let module = match modules::lookup(&task.module) {
            Some(m) => m,
            None if PLANNED.contains(&task.module.as_str()) => {
                return ItemResult::failed(format!(
                    "module `{}` is not available in this version of dr",
                    task.module
                ));
            }
            None => return ItemResult::failed(format!("unknown module `{}`", task.module)),
        };
        // `debug: var=` is an expression: marked `!unsafe`, it is untrusted (checked before
        // the arguments are rendered, which drops the mark).
        if module.name() == "debug"
            && let Some(Json::String(var)) = task.args.get("var")
            && let Err(e) = scope.check_trusted_conditional(var)
        {
            return ItemResult::failed(located(e.to_string()));
        }
        // `assert`'s `that` is conditionals, and `ansible._protomatter.debug`'s `expression`
        // expressions, which the module evaluates itself: as in Ansible, they are not
        // rendered with the other arguments (`finalize_task_arg`).
        let unrendered = match module.name() {
            "assert" => "that",
            crate::modules::protomatter_debug::NAME => "expression",
            _ => "",
        };
        let (to_render, that) = match &task.args {
            Json::Object(map) if map.contains_key(unrendered) => {
                let mut rest = map.clone();
                let kept = rest.remove(unrendered).map(|t| match unrendered {
                    "that" => assert_that(t, scope),
                    _ => t,
                });
                (
                    Cow::Owned(Json::Object(rest)),
                    kept.map(|k| (unrendered, k)),
                )
            }
            other => (Cow::Borrowed(other), None),
        };
        let args = match render_args(scope, &to_render).map(|a| splat(a, &task.module)) {
            Ok(Ok(a)) => with_that(without_omitted(a), that),
            Ok(Err(e)) => return ItemResult::failed(located(e)),
            Err(e) => return ItemResult::failed(located(e)),
        };
        // Ansible's `unsafe_writes` (a file-writing module's common argument): taken here,
        // it lets the module's writes fall back to in place (`fsutil::with_unsafe_writes`).
        let (args, unsafe_writes) = take_unsafe_writes(args, module);
        let mut environment: Vec<(String, String)> = Vec::new();
        for (k, v) in &task.environment {
            if k.starts_with(crate::wire::ENV_TEMPLATE_KEY) {
                // A whole mapping from one template, merged here (later entries win).
                match scope.render_value(v) {
                    Ok(Json::Object(map)) => {
                        for (ek, ev) in map {
                            match ev {
                                Json::String(s) if s == crate::template::OMIT => {}
                                Json::Null => {}
                                Json::String(s) => environment.push((ek, s)),
                                other => environment.push((ek, other.to_string())),
                            }
                        }
                    }
                    Ok(Json::String(s)) if s == crate::template::OMIT => {}
                    Ok(other) => {
                        return ItemResult::failed(located(format!(
                            "`environment` must be a mapping, found `{}`",
                            self.masker.mask(&other.to_string())
                        )));
                    }
                    Err(e) => return ItemResult::failed(located(format!("`environment`: {e}"))),
                }
                continue;
            }
            match scope.render_value(v) {
                // `{{ omit }}` leaves the variable out, as in Ansible.
                Ok(Json::String(s)) if s == crate::template::OMIT => {}
                Ok(Json::String(s)) => environment.push((k.clone(), s)),
                Ok(Json::Null) => {}
                Ok(other) => environment.push((k.clone(), other.to_string())),
                // As Ansible: an entry that needs the `env` facts before they are gathered
                // is left out rather than failing the task.
                Err(e)
                    if e.to_string().contains("ansible_env")
                        || (task.module == "setup"
                            && e.to_string().contains("ansible_facts.env")) => {}
                Err(e) => return ItemResult::failed(located(format!("`environment`: {e}"))),
            }
        }
        if let Err(e) = super::module_template::holds(task, scope) {
            return ItemResult::failed(located(e));
        }
        let become_user = if super::controller_side::module_is(module.name()) {
            None
        } else {
            let user = self
                .connection
                .changed_in(scope)
                .and_then(|()| super::connection_vars::keywords_hold(task, self.request, scope))
                .and_then(|()| super::become_::switch_to(self.request, task, scope));
            match user {
                Ok(user) => user,
                Err(e) => return ItemResult::failed(located(e)),
            }
        };
        // As Ansible's `sudo -H`: a task run as another user has that user's `HOME` (`~` in
        // a path argument is that user's home), unless its `environment:` sets one.
        if let Some(home) = become_user.as_deref().and_then(modules::as_user::home) {
            environment.insert(0, ("HOME".to_owned(), home));
        }
        let check_mode = task.check_mode.unwrap_or(self.request.mode == Mode::Check);
        let diff = task.diff.unwrap_or(self.request.diff);
        let diff_mode = task.diff.unwrap_or(self.request.diff_mode);
        let ctx = Context {
            check_mode,
            diff,
            diff_mode,
            files: &self.request.files,
            scope,
            environment: &environment,
            become_user: become_user.as_deref(),
            escalated: super::become_::is_on(task, scope),
            consent: self.request.consent,
            bridged: &self.request.bridged,
            controller: Some(&self.lookups),
            timeout: task
                .timeout
                .filter(|t| t.is_finite() && *t > 0.0)
                .map(std::time::Duration::from_secs_f64),
        };

        let retries = match number_of(scope, task.retries.as_ref(), "retries") {
            Ok(r) => r.map(|r| r as u32),
            Err(e) => return ItemResult::failed(located(e)),
        };
        let delay = match number_of(scope, task.delay.as_ref(), "delay") {
            Ok(d) => d.unwrap_or(5.0),
            Err(e) => return ItemResult::failed(located(e)),
        };
        // As Ansible: the first run plus `retries` more (3 when only `until` is given); with
        // `retries` and no `until`, the task is retried until it does not fail.
        let attempts_allowed = match (&task.until, retries) {
            (_, Some(r)) => r.saturating_add(1),
            (Some(_), None) => 4,
            (None, None) => 1,
        };
        let retrying = attempts_allowed > 1;
        let asynchronous = match super::async_task::spec(scope, task) {
            Ok(a) => a,
            Err(e) => return ItemResult::failed(located(e)),
        };
        if let (Some(_), Some(user)) = (&asynchronous, ctx.become_user) {
            return ItemResult::failed(located(format!(
                "`async` on a task that runs as `{user}` (`become`) is not supported by dr: run it in the foreground"
            )));
        }
        let delay = Duration::from_secs_f64(delay.clamp(0.0, 86_400.0));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (outcome, planned_only) =
                crate::fsutil::with_unsafe_writes(unsafe_writes, || {
                    match (&asynchronous, ctx.become_user) {
                        (Some(spec), _) => super::async_task::call(module, &ctx, &args, spec),
                        (None, Some(user))
                            if modules::as_user::IN_PROCESS.contains(&module.name()) =>
                        {
                            modules::as_user::run(user, || call(module, &ctx, &args))
                                .unwrap_or_else(|e| (Outcome::failed(e), false))
                        }
                        _ => call(module, &ctx, &args),
                    }
                });
            if outcome.timed_out
                && asynchronous.is_none()
                && let Some(limit) = ctx.timeout
            {
                return super::task_timeout::result(limit.as_secs());
            }
            if !outcome.failed {
                self.lookups.acted();
            }
            let mut register = register_of(&outcome);
            if outcome.failed {
                no_traceback(&mut register);
            }
            let mut failed = outcome.failed;
            let mut changed = outcome.changed;
            let mut msg = outcome.msg.clone();
            // The failed condition and what it read, for the failure's detail.
            let mut failed_because: Option<(String, Map<String, Json>)> = None;
            // As Ansible: with `failed_when`, the task failed exactly when it held, whatever
            // else set `failed` (an exhausted `until` included).
            let mut failed_when_result: Option<bool> = None;
            // A "would run" plan did not run: conditions on its result would only see
            // what check mode invented, so they are not evaluated. One exception: a task
            // declared `changed_when: false` (a read-only command) never counts as a change,
            // so a plan on a converged host stays at zero changes.
            if planned_only && task.changed_when.iter().any(|c| is_literal_false(c)) {
                changed = false;
                msg = format!("{msg} (read-only: changed_when is false)");
            }
            if !planned_only {
                // As Ansible: `attempts` is there for `changed_when`/`failed_when` to read.
                if retrying {
                    register.insert("attempts".into(), Json::from(attempt));
                }
                register.insert("failed".into(), Json::Bool(failed));
                register.insert("changed".into(), Json::Bool(changed));
                if !outcome.skipped {
                    let mut verdict = Verdict::new(changed, failed);
                    let with_result = self.with_registered(task, scope, &register);
                    verdict.judge(task, &with_result, &mut register);
                    changed = verdict.changed;
                    failed = verdict.failed;
                    failed_when_result = verdict.failed_when_result;
                    failed_because = verdict.failed_because;
                    if let Some(e) = verdict.error {
                        msg = located(e);
                    }
                }
                register.insert("changed".into(), Json::Bool(changed));
                register.insert("failed".into(), Json::Bool(failed));
                if retrying {
                    let with_result = self.with_registered(task, scope, &register);
                    let done = match &task.until {
                        None => Ok(!failed),
                        Some(until) => with_result.eval_bool(until),
                    };
                    let done = done.unwrap_or_else(|e| {
                        failed = true;
                        msg = located(format!("`until`: {e}"));
                        true
                    });
                    if !done {
                        if attempt < attempts_allowed {
                            std::thread::sleep(delay);
                            continue;
                        }
                        // As Ansible: out of attempts, the result says one fewer.
                        register.insert("attempts".into(), Json::from(attempt - 1));
                        failed = true;
                        if msg.is_empty() && failed_when_result.is_none() {
                            msg = format!("`until` condition never held after {attempt} attempts");
                        }
                        register.insert("failed".into(), Json::Bool(true));
                    }
                }
                if let Some(f) = failed_when_result {
                    failed = f;
                }
                if register.get("failed") == Some(&Json::Bool(true)) {
                    no_traceback(&mut register);
                }
            }
            let status = if failed {
                Status::Failed
            } else if changed {
                Status::Changed
            } else if outcome.skipped {
                register.insert("skipped".into(), Json::Bool(true));
                Status::Skipped
            } else {
                Status::Ok
            };
            // The module's own `msg` stays as it gave it (`debug` keeps a list a list).
            if !msg.is_empty() && msg != outcome.msg {
                register.insert("msg".into(), Json::from(msg.clone()));
            }
            if planned_only && outcome.unpredictable && !failed {
                check_mode_skip(&task.module, &args, &mut register);
            }
            let detail = self.detail_of(scope, &register, failed_because);
            if failed && msg.is_empty() && detail.contains_key(detail::FAILED_WHEN) {
                msg = "the `failed_when` condition held".to_owned();
            }
            let diffs = if diff && changed {
                outcome
                    .diffs
                    .iter()
                    .map(|d| Diff {
                        target: mask(&d.target),
                        text: mask(&d.text),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            return ItemResult {
                status,
                msg: mask(&msg),
                detail,
                diffs,
                messages: outcome.messages,
                dangerous: outcome.dangerous,
                duration_ms: 0,
                register,
                facts: if failed { Map::new() } else { outcome.facts },
                facts_cacheable: outcome.facts_cacheable,
                flush: outcome.flush_handlers,
                end_host: outcome.end_host,
                unpredictable: planned_only && outcome.unpredictable,
                on: None,
                inventory: if failed { None } else { outcome.inventory },
                invocation: self.invocation_of(task, &args),
            };
        }
    }

    /// What Ansible's `invocation.module_args` shows for a module run on the host, when
    /// the request asks for it: the arguments, with those whose name says they hold a
    /// secret hidden as Ansible hides its modules' `no_log` parameters.
    fn invocation_of(&self, task: &Task, args: &Json) -> Option<Json> {
        if !self.request.invocation || super::controller_side(task) {
            return None;
        }
        const SECRET: &[&str] = &["password", "passwd", "pass", "secret", "token", "key"];
        let hidden = |k: &str| {
            let k = k.to_ascii_lowercase();
            SECRET.iter().any(|s| k.contains(s)) && !k.ends_with("_file") && !k.ends_with("_path")
        };
        let module_args = match args {
            Json::Object(m) => Json::Object(
                m.iter()
                    .filter(|(k, _)| !k.starts_with("_dr"))
                    .map(|(k, v)| {
                        let v = if hidden(k) {
                            Json::from("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")
                        } else {
                            self.masker.mask_value(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => self.masker.mask_value(other),
        };
        let mut invocation = Map::new();
        invocation.insert("module_args".into(), module_args);
        Some(Json::Object(invocation))
    }

    /// The masked detail of a result; for a failed condition (`failed_when`, an `assert`),
    /// the condition and the values of the variables it read.
    fn detail_of(
        &self,
        scope: &Scope,
        register: &Map<String, Json>,
        failed_because: Option<(String, Map<String, Json>)>,
    ) -> Map<String, Json> {
        let mut detail = detail::of(register);
        if let Some((cond, read)) = failed_because {
            detail.insert(detail::FAILED_WHEN.into(), Json::from(cond));
            detail.insert(detail::VALUES.into(), Json::Object(read));
        } else if register.get("failed") == Some(&Json::Bool(true))
            && let Some(Json::String(assertion)) = register.get("assertion")
        {
            let read = reads::values(scope, assertion);
            detail.insert(detail::VALUES.into(), Json::Object(read));
        }
        match self.masker.mask_value(&Json::Object(detail)) {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// `scope` plus the task's result under its `register` name.
    pub(super) fn with_registered(
        &self,
        task: &Task,
        scope: &Scope,
        result: &Map<String, Json>,
    ) -> Scope {
        let mut vars = scope.vars().clone();
        let mut raw = scope.raw_names().clone();
        if let Some(name) = &task.register {
            vars.insert(name.clone(), Json::Object(result.clone()));
            raw.insert(name.clone());
        }
        self.templater
            .scope_sharing(vars, scope.hostvars().cloned(), raw)
    }
}

/// Runs check, then (outside check mode) the planned action. The flag says the outcome
/// is a plan that was not applied.
fn call(module: &dyn Module, ctx: &Context<'_>, args: &Json) -> (Outcome, bool) {
    match module.check(ctx, args) {
        Err(e) => (Outcome::failed(e.to_string()), false),
        Ok(plan) => match plan.action {
            None => (plan.outcome, false),
            Some(_) if ctx.check_mode => (plan.outcome, true),
            Some(action) => {
                let planned = plan.outcome;
                match action.apply(ctx) {
                    Ok(mut outcome) => {
                        if outcome.diffs.is_empty() {
                            outcome.diffs = planned.diffs;
                        }
                        outcome.dangerous |= planned.dangerous;
                        (outcome, false)
                    }
                    Err(e) => (Outcome::failed(e.to_string()), false),
                }
            }
        },
    }
}

/// A keyword that takes a number (`retries`, `delay`), written as one or as a template.
pub(super) fn number_of(
    scope: &Scope,
    value: Option<&Json>,
    what: &str,
) -> Result<Option<f64>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let rendered = scope
        .render_value(value)
        .map_err(|e| format!("`{what}`: {e}"))?;
    let number = match &rendered {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match number {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        _ => Err(format!(
            "`{what}` must be a non-negative number, found `{rendered}`"
        )),
    }
}

/// What `register:` holds for a command that check mode did not run: Ansible's `command`
/// module skips itself and says so. (dr still shows it as "would run" in a plan.)
pub(super) fn check_mode_skip(module: &str, args: &Json, register: &mut Map<String, Json>) {
    if !matches!(module, "command" | "shell") {
        return;
    }
    let msg = "Command would have run if not in check mode";
    // As Ansible: with `creates`/`removes` (the check that came out "run"), the result is
    // a change; without, a skip.
    if !guarded(args) {
        register.insert("changed".into(), Json::Bool(false));
        register.insert("skipped".into(), Json::Bool(true));
    }
    register.insert("msg".into(), Json::from(msg));
    register.insert("rc".into(), Json::from(0));
    for key in ["stdout", "stderr"] {
        register.insert(key.into(), Json::from(""));
        register.insert(format!("{key}_lines"), Json::Array(Vec::new()));
    }
}

/// The command has `creates` or `removes`, as an argument or inline (`cmd creates=x`).
fn guarded(args: &Json) -> bool {
    let inline = |text: &str| {
        text.split_whitespace()
            .any(|w| w.starts_with("creates=") || w.starts_with("removes="))
    };
    match args {
        Json::Object(map) => {
            ["creates", "removes"]
                .iter()
                .any(|k| map.get(*k).is_some_and(|v| !v.is_null()))
                || ["_raw_params", "cmd"]
                    .iter()
                    .any(|k| map.get(*k).and_then(Json::as_str).is_some_and(inline))
        }
        Json::String(text) => inline(text),
        _ => false,
    }
}

/// The registered form of a module outcome (also what an async job's file records).
pub(crate) fn register_of(outcome: &Outcome) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("changed".into(), Json::Bool(outcome.changed));
    m.insert("failed".into(), Json::Bool(outcome.failed));
    if !outcome.msg.is_empty() && (outcome.failed || !outcome.ansible_shape) {
        m.insert("msg".into(), Json::from(outcome.msg.clone()));
    }
    for (k, v) in &outcome.data {
        m.insert(k.clone(), v.clone());
    }
    // A module that gives Ansible's own `diff` entries keeps them.
    if !outcome.diffs.is_empty() && !outcome.ansible_shape && !m.contains_key("diff") {
        let diffs: Vec<Json> = outcome
            .diffs
            .iter()
            .map(|d| {
                let mut e = Map::new();
                e.insert("target".into(), Json::from(d.target.clone()));
                e.insert("text".into(), Json::from(d.text.clone()));
                Json::Object(e)
            })
            .collect();
        m.insert("diff".into(), Json::Array(diffs));
    }
    m
}

/// A loop over no items, as Ansible reports it: skipped, with an empty `results`.
pub(super) fn no_items() -> ItemResult {
    let mut result = skipped(&Condition::Literal(false));
    result.msg = "No items in the list".to_owned();
    result.register = Map::new();
    result.register.insert("changed".into(), Json::Bool(false));
    result
        .register
        .insert("results".into(), Json::Array(Vec::new()));
    result.register.insert("skipped".into(), Json::Bool(true));
    result
        .register
        .insert("skipped_reason".into(), Json::from("No items in the list"));
    result
}

/// A task skipped because `cond` (one of its `when:` items) is false: Ansible's result has
/// no `failed`, in a loop item too.
pub(super) fn skipped(cond: &Condition) -> ItemResult {
    let mut register = Map::new();
    register.insert("changed".into(), Json::Bool(false));
    register.insert("skipped".into(), Json::Bool(true));
    register.insert(
        "skip_reason".into(),
        Json::from("Conditional result was False"),
    );
    register.insert("false_condition".into(), cond.to_json());
    ItemResult {
        status: Status::Skipped,
        msg: format!("conditional result was false: `{cond}`"),
        detail: Map::new(),
        diffs: Vec::new(),
        messages: Vec::new(),
        dangerous: false,
        duration_ms: 0,
        register,
        facts: Map::new(),
        facts_cacheable: false,
        flush: false,
        end_host: false,
        unpredictable: false,
        on: None,
        inventory: None,
        invocation: None,
    }
}

/// As Ansible registers a failed result: with `exception`, which shows this text unless
/// tracebacks are asked for (dr has none to show).
/// The warnings templates gave while the item ran, before the module's own, last in the
/// result (as Ansible's `_execute` sets them), each once.
fn with_template_warnings(register: &mut Map<String, Json>) {
    let mut warnings: Vec<Json> = crate::template::warnings::take()
        .into_iter()
        .map(Json::from)
        .collect();
    if warnings.is_empty() {
        return;
    }
    if let Some(Json::Array(own)) = register.remove("warnings") {
        for w in own {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    register.insert("warnings".into(), Json::Array(warnings));
}

fn no_traceback(register: &mut Map<String, Json>) {
    register
        .entry("exception")
        .or_insert_with(|| Json::from("(traceback unavailable)"));
}

/// Arguments given as one template (`assert: "{{ item }}"`): the mapping it rendered to,
/// with the task's other `args:` over it (`omit`: none), or Ansible's failure for `module`.
/// A task's arguments rendered; a failure names the argument whose value failed, as
/// Ansible does ("Error while resolving value for 'msg': 'x' is undefined").
fn render_args(scope: &Scope, args: &Json) -> Result<Json, String> {
    let Json::Object(map) = args else {
        return scope.render_value(args).map_err(|e| e.to_string());
    };
    let mut out = Map::new();
    for (k, v) in map {
        let key = scope.render_string(k).map_err(|e| e.to_string())?;
        let value = scope
            .render_value(v)
            .map_err(|e| format!("Error while resolving value for '{k}': {e}"))?;
        out.insert(key, value);
    }
    Ok(Json::Object(out))
}

fn splat(args: Json, module: &str) -> Result<Json, String> {
    let Json::Object(mut map) = args else {
        return Ok(args);
    };
    let Some(rendered) = map.remove(crate::wire::ARGS_TEMPLATE_KEY) else {
        return Ok(Json::Object(map));
    };
    match rendered {
        Json::Object(mut base) => {
            base.extend(map);
            Ok(Json::Object(base))
        }
        Json::String(s) if s == crate::template::OMIT => Ok(Json::Object(map)),
        other => Err(format!(
            "Finalization of task args for '{}' failed: Task args must resolve to a 'dict' not '{}'.",
            if module.contains('.') {
                module.to_owned()
            } else {
                format!("ansible.builtin.{module}")
            },
            crate::modules::argspec::type_name(&other)
        )),
    }
}

/// `assert`'s `that` as Ansible's action finalizes it: a string that is all template and
/// names a list becomes that list, its items as the variables hold them (each one a
/// conditional of its own); anything else stays as written.
fn assert_that(that: Json, scope: &Scope) -> Json {
    if let Json::String(s) = &that
        && crate::template::conditional::is_all_template(s)
        && let Some(list @ Json::Array(_)) = scope.resolve_unrendered(s)
    {
        return list;
    }
    that
}

/// The rendered arguments with the unrendered one (`assert`'s `that`) put back.
fn with_that(args: Json, that: Option<(&str, Json)>) -> Json {
    match (args, that) {
        (Json::Object(mut map), Some((key, that))) => {
            map.insert(key.into(), that);
            Json::Object(map)
        }
        (args, _) => args,
    }
}

/// Drops arguments that rendered to `omit` (`mode: "{{ m | default(omit) }}"`).
/// `args` without `unsafe_writes` for a module that takes it, and its value.
fn take_unsafe_writes(args: Json, module: &dyn Module) -> (Json, bool) {
    match args {
        Json::Object(mut map) if module.arg_names().contains(&"unsafe_writes") => {
            let on = map
                .remove("unsafe_writes")
                .and_then(|v| modules::json_bool(&v))
                .unwrap_or(false);
            (Json::Object(map), on)
        }
        other => (other, false),
    }
}

fn without_omitted(args: Json) -> Json {
    match args {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .filter(|(_, v)| v.as_str() != Some(crate::template::OMIT))
                .map(|(k, v)| (k, without_omitted(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `changed_when: false` as written (YAML `false`/`no` reach the agent as "false").
fn is_literal_false(condition: &str) -> bool {
    matches!(condition.trim(), "false" | "False" | "no" | "No")
}
