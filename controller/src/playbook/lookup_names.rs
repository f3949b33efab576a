//! Lookup plugins named in a task's templates are checked when the playbook is read: a
//! plugin dr does not have is refused with the task's location, before anything runs.

use std::sync::LazyLock;

use dr_agent::template::lookup;
use dr_agent::wire::{Condition, Task};
use regex::Regex;

use crate::diagnostic::{Diagnostic, Loc};

/// `lookup('name'`, `query("name"`, `q('name'` with a literal plugin name.
static CALL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\b(?:lookup|query|q)\s*\(\s*['"]([A-Za-z0-9_.]+)['"]"#).ok());

/// Refuses a lookup plugin dr does not have, anywhere in `task`'s templates.
pub fn check(task: &Task, loc: &Loc) -> Result<(), Diagnostic> {
    let mut texts = super::task_text::templated(task);
    texts.extend(task.when.iter().map(Condition::as_str));
    texts.extend(task.changed_when.iter().map(String::as_str));
    texts.extend(task.failed_when.iter().map(String::as_str));
    texts.extend(task.until.as_deref());
    let Some(re) = CALL.as_ref() else {
        return Ok(());
    };
    for text in texts {
        for cap in re.captures_iter(text) {
            let name = &cap[1];
            if lookup::plugin(name).is_none() && !crate::bridge::lookups::has(name) {
                return Err(Diagnostic::new(
                    loc.clone(),
                    format!("lookup plugin `{name}` is not supported by dr"),
                )
                .with_help(format!(
                    "dr has these lookups: {}; with ansible-core installed, also {} (ansible-core's own code) and a Python plugin in a `lookup_plugins/` beside the playbook or in a role",
                    lookup::CONTROLLER_LOOKUPS
                        .iter()
                        .chain(lookup::DATA_LOOKUPS)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                    crate::bridge::lookups::BUILTIN.join(", ")
                )));
            }
        }
    }
    Ok(())
}
