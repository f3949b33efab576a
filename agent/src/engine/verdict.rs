//! `changed_when` and `failed_when` on a task's result, in Ansible's order and with its
//! result keys: `changed_when` first, then `failed_when` (`failed_when_result`); a condition
//! that cannot be evaluated fails the task and its error text becomes
//! `changed_when_result`/`failed_when_result`.

use serde_json::{Map, Value as Json};

use super::reads;
use crate::template::Scope;
use crate::wire::Task;

/// What the conditions made of one attempt's result.
pub(super) struct Verdict {
    /// The task changed something.
    pub changed: bool,
    /// The task failed.
    pub failed: bool,
    /// What `failed_when` gave, when it was evaluated: the task's failure is exactly this,
    /// whatever else set `failed` (an exhausted `until` included), as in Ansible.
    pub failed_when_result: Option<bool>,
    /// The `failed_when` that held and the values it read, for the failure's detail.
    pub failed_because: Option<(String, Map<String, Json>)>,
    /// Why a condition could not be evaluated.
    pub error: Option<String>,
}

impl Verdict {
    /// The verdict before any condition: the module's own.
    pub fn new(changed: bool, failed: bool) -> Self {
        Verdict {
            changed,
            failed,
            failed_when_result: None,
            failed_because: None,
            error: None,
        }
    }

    /// Evaluates `task`'s conditions with `with_result` (the scope holding the registered
    /// result) and records their keys in `register`.
    pub fn judge(&mut self, task: &Task, with_result: &Scope, register: &mut Map<String, Json>) {
        if !task.changed_when.is_empty() {
            match all_hold(with_result, &task.changed_when) {
                Ok(c) => self.changed = c,
                Err(e) => return self.broken("changed", e, register),
            }
        }
        if task.failed_when.is_empty() {
            return;
        }
        // As Ansible: a list of conditions is joined with `and`.
        match all_hold(with_result, &task.failed_when) {
            Ok(f) => {
                self.failed = f;
                self.failed_when_result = Some(f);
                register.insert("failed_when_result".into(), Json::Bool(f));
                if f {
                    let cond = task.failed_when.join(" and ");
                    let read = reads::values(with_result, &cond);
                    self.failed_because = Some((cond, read));
                } else if let Some(exception) = register.remove("exception") {
                    register.insert("failed_when_suppressed_exception".into(), exception);
                }
            }
            Err(e) => self.broken("failed", e, register),
        }
    }

    fn broken(&mut self, which: &str, e: impl std::fmt::Display, register: &mut Map<String, Json>) {
        let text = e.to_string();
        self.failed = true;
        register.insert(format!("{which}_when_result"), Json::from(text.clone()));
        self.error = Some(format!("`{which}_when`: {text}"));
    }
}

/// Every condition holds (a list is joined with `and`, as Ansible does).
pub(super) fn all_hold(
    scope: &Scope,
    conds: &[String],
) -> Result<bool, crate::template::TemplateError> {
    for c in conds {
        if !scope.eval_bool(c)? {
            return Ok(false);
        }
    }
    Ok(true)
}
