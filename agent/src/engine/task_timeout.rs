//! A task that ran past its `timeout:`. Ansible stops the action and throws its result
//! away: the task fails with `Timed out after N second(s).` and a `timedout` entry (what
//! the `timedout` test reads), whatever the module had done, and it is not retried.

use serde_json::{Map, Value as Json, json};

use super::item::ItemResult;

/// Ansible's `TaskTimeoutError.result_contribution` help text, its `timedout.frame`.
const FRAME: &str = "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.";

/// The result of a task stopped by its `timeout` of `period` seconds, keys in the order
/// Ansible's result has them.
pub(super) fn result(period: u64) -> ItemResult {
    let msg = format!("Task failed: Timed out after {period} second(s).");
    let mut result = ItemResult::failed(msg.clone());
    let mut register = Map::new();
    register.insert("timedout".into(), json!({"frame": FRAME, "period": period}));
    register.insert("failed".into(), Json::Bool(true));
    register.insert("exception".into(), Json::from("(traceback unavailable)"));
    register.insert("msg".into(), Json::from(msg));
    register.insert("changed".into(), Json::Bool(false));
    result.register = register;
    result
}
