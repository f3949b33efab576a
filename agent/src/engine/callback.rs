//! What Ansible's stdout callback is given, for `--format ansible`: each task's banner title
//! and each result as Ansible's result dictionary. Sent only when the request asks for it
//! ([`crate::wire::Request::callback`]); the controller prints them as ansible-core's
//! `default` callback does.
//!
//! Besides Ansible's own keys (`_ansible_no_log`, `_ansible_item_label`,
//! `_ansible_verbose_always`), a result carries keys the printer needs and Ansible keeps
//! elsewhere, all stripped before anything is shown: `_dr_action` (the module),
//! `_dr_location` (the task's `file:line:col`),
//! `_dr_meta` (the `META:` line of a `meta` task), `_dr_include` (the file an
//! `include_tasks` names), `_dr_async` (the `ASYNC OK`/`ASYNC FAILED` line of a polled
//! async task).

use serde_json::{Map, Value as Json};

use super::Runner;
use super::item::ItemResult;
use crate::wire::{Status, Task, TaskKind};

/// What Ansible shows instead of a `no_log` result.
const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

impl Runner<'_> {
    /// Ansible's banner title for `task`, shown by dr as `name`: `role : name`, the action
    /// for an unnamed task; `None` when the request did not ask, or for a task Ansible does
    /// not announce (an implicit one).
    pub(super) fn callback_title(&self, task: &Task, name: &str) -> Option<String> {
        if !self.request.callback || task.implicit {
            return None;
        }
        let title = match &task.name {
            // The controller names an unnamed include `include_tasks: file`.
            Some(n) if task.kind == TaskKind::Include && generated_include_name(task, n) => {
                match n.strip_prefix("include_role: ") {
                    // Ansible's name of an unnamed `include_role`.
                    Some(role) => format!("include_role : {role}"),
                    None => task.module.clone(),
                }
            }
            Some(_) => name.to_owned(),
            // The module as the task names it (`ansible.builtin.copy`, `gather_facts`).
            None => task.written_module().to_owned(),
        };
        Some(match task.vars.get("role_name").and_then(Json::as_str) {
            Some(role) => format!("{role} : {title}"),
            None => title,
        })
    }

    /// `result` as Ansible's callback gets it, for a task or one item of its loop
    /// (`item`: the loop variable's name and value); `None` unless the request asked.
    pub(super) fn callback_result(
        &self,
        task: &Task,
        result: &ItemResult,
        item: Option<(&str, &Json)>,
        label: Option<&str>,
    ) -> Option<Map<String, Json>> {
        if !self.request.callback {
            return None;
        }
        let mut out = if task.no_log {
            let mut m = Map::new();
            m.insert("censored".into(), Json::from(CENSORED));
            m.insert(
                "changed".into(),
                Json::Bool(result.status == Status::Changed),
            );
            m.insert("_ansible_no_log".into(), Json::Bool(true));
            m
        } else {
            match self
                .masker
                .mask_value(&Json::Object(result.register.clone()))
            {
                Json::Object(m) => m,
                _ => Map::new(),
            }
        };
        if let Some((var, value)) = item
            && !task.no_log
        {
            out.insert("ansible_loop_var".into(), Json::from(var));
            out.insert(var.to_owned(), self.masker.mask_value(value));
            if let (Some(label), Some(_)) = (label, &task.loop_label) {
                out.insert("_ansible_item_label".into(), Json::from(label));
            }
        }
        if task.module == "meta" {
            out = self.meta_result(task, result.status == Status::Skipped);
        }
        if let Some(invocation) = &result.invocation
            && !task.no_log
        {
            out.entry("invocation")
                .or_insert_with(|| invocation.clone());
        }
        let arg = |key: &str| match &task.args {
            Json::Object(m) => m.get(key).cloned(),
            _ => None,
        };
        if task.module == "debug" && arg("var").is_some() && result.status != Status::Failed {
            // Ansible's debug of a `var` shows the variable alone.
            out.remove("msg");
        }
        // Ansible's `debug` and `assert` (unless `quiet`) always show their result.
        let quiet = arg("quiet").is_some_and(|q| matches!(q, Json::Bool(true)) || q == "true");
        let verbose_always = match task.module.as_str() {
            "debug" => !matches!(result.status, Status::Skipped | Status::Failed),
            "assert" => result.status != Status::Skipped && !quiet,
            _ => false,
        };
        if verbose_always && !task.no_log {
            out.insert("_ansible_verbose_always".into(), Json::Bool(true));
        }
        if task.module == "setup" {
            // Ansible keeps `-v` from showing every fact.
            out.insert("_ansible_verbose_override".into(), Json::Bool(true));
        }
        if let Some(line) = async_line(task, result) {
            out.insert("_dr_async".into(), Json::from(line));
        }
        out.insert("_dr_action".into(), Json::from(task.module.clone()));
        out.insert("_dr_location".into(), Json::from(task.location.clone()));
        Some(out)
    }

    /// The result of an include node; `None` unless the request asked.
    pub(super) fn callback_include(&self, include: &Task) -> Option<Map<String, Json>> {
        if !self.request.callback {
            return None;
        }
        let mut out = Map::new();
        out.insert("changed".into(), Json::Bool(false));
        out.insert("_dr_action".into(), Json::from(include.module.clone()));
        out.insert("_dr_location".into(), Json::from(include.location.clone()));
        if include.kind == TaskKind::Include {
            // The file `include_tasks` names, the role `include_role` does.
            let file = match &include.args {
                Json::String(s) => Some(s.clone()),
                Json::Object(m) => m
                    .get("file")
                    .or_else(|| m.get("name"))
                    .or_else(|| m.get("_raw_params"))
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                _ => None,
            }
            .or_else(|| include.include_file.clone())
            .or_else(|| {
                let name = include.name.as_deref()?;
                let prefix = format!("{}: ", include.module);
                name.strip_prefix(&prefix).map(str::to_owned)
            });
            if let Some(file) = file {
                out.insert("_dr_include".into(), Json::from(file));
            }
        }
        Some(out)
    }

    /// What Ansible's `_execute_meta` returns for `task` on this host, with its `META:` line.
    fn meta_result(&self, task: &Task, skipped: bool) -> Map<String, Json> {
        let action = match &task.args {
            Json::String(s) => s.trim().to_owned(),
            Json::Object(m) => m
                .get("_raw_params")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned(),
            _ => String::new(),
        };
        let host = &self.request.host;
        let mut out = Map::new();
        let header = if skipped {
            let (reason, msg) = match action.as_str() {
                "end_host" => (
                    format!(
                        "end_host conditional evaluated to False, continuing execution for {host}"
                    ),
                    format!(
                        "end_host conditional evaluated to false, continuing execution for {host}"
                    ),
                ),
                "end_play" => (
                    "end_play conditional evaluated to False, continuing play".to_owned(),
                    action.clone(),
                ),
                "end_batch" => (
                    "end_batch conditional evaluated to False, continuing current batch".to_owned(),
                    action.clone(),
                ),
                "clear_host_errors" => (
                    format!(
                        "clear_host_errors conditional evaluated to False, not clearing host error state for {host}"
                    ),
                    action.clone(),
                ),
                "flush_handlers" => (
                    format!(
                        "flush_handlers conditional evaluated to False, not running handlers for {host}"
                    ),
                    action.clone(),
                ),
                other => (
                    format!("{other} conditional evaluated to False"),
                    action.clone(),
                ),
            };
            out.insert("msg".into(), Json::from(msg));
            out.insert("skipped".into(), Json::Bool(true));
            out.insert("skip_reason".into(), Json::from(reason.clone()));
            reason
        } else {
            let msg = match action.as_str() {
                "end_host" => format!("ending play for {host}"),
                "end_play" => "ending play".to_owned(),
                "end_batch" => "ending batch".to_owned(),
                "clear_host_errors" => "cleared host errors".to_owned(),
                "flush_handlers" => format!("triggered running handlers for {host}"),
                "end_role" => format!(
                    "ending role {} for {host}",
                    task.vars
                        .get("role_name")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                ),
                other => other.to_owned(),
            };
            out.insert("msg".into(), Json::from(msg.clone()));
            out.insert("changed".into(), Json::Bool(false));
            msg
        };
        out.insert("_dr_meta".into(), Json::from(header));
        out
    }
}

/// For a polled async task, what Ansible's callback says once polling ended (`OK jid=…`
/// or `FAILED jid=…`; the printer adds `ASYNC` and the host). A `poll: 0` task's result is
/// not finished and says nothing.
fn async_line(task: &Task, result: &ItemResult) -> Option<String> {
    task.async_.as_ref()?;
    let r = &result.register;
    let jid = match r.get("async_result") {
        Some(status) => status.get("ansible_job_id"),
        None if r.get("finished") == Some(&Json::Bool(true)) => r.get("ansible_job_id"),
        None => None,
    }?;
    let word = if result.status == Status::Failed {
        "FAILED"
    } else {
        "OK"
    };
    Some(format!("{word} jid={}", jid.as_str()?))
}

/// Whether `name` is the one the controller gives an unnamed include (`include_tasks: file`).
fn generated_include_name(include: &Task, name: &str) -> bool {
    name.strip_prefix(include.module.as_str())
        .is_some_and(|rest| rest.starts_with(": "))
}
