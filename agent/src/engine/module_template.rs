//! A module name written as a fact's template (`action: "{{ ansible_facts.pkg_mgr }}"`).
//! The controller compiled the task as the module the fact names on the hosts dr serves
//! ([`crate::wire::Task::module_template`]); here the template is rendered when the task
//! runs, as Ansible renders it, and a host whose fact names another module fails the task.

use serde_json::Value as Json;

use crate::template::Scope;
use crate::wire::Task;

/// `Ok` when the task has no such template or it renders to the module it was compiled as.
pub(super) fn holds(task: &Task, scope: &Scope) -> Result<(), String> {
    let Some(template) = &task.module_template else {
        return Ok(());
    };
    let rendered = scope
        .render_value(&Json::String(template.clone()))
        .map_err(|e| e.to_string())?;
    let name = match &rendered {
        Json::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    if name == task.module {
        return Ok(());
    }
    Err(format!(
        "the module name `{template}` renders to `{name}` on this host; dr runs this task as \
         `{}`, the module it names on the hosts dr serves",
        task.module
    ))
}
