//! The text of a task that may hold templates, for checks made when a playbook is read.

use dr_agent::wire::Task;
use serde_json::Value;

/// Every string of the task's arguments, loop, vars and name (where templates are written
/// in `{{ }}`); conditions are the caller's, as they are bare expressions.
pub fn templated(task: &Task) -> Vec<&str> {
    let mut out = Vec::new();
    strings(&task.args, &mut out);
    if let Some(l) = &task.loop_ {
        strings(l, &mut out);
    }
    for v in task.vars.values() {
        strings(v, &mut out);
    }
    out.extend(task.name.as_deref());
    out
}

fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}
