//! The registered result of a task with a loop, as Ansible's `TaskExecutor.run` puts it
//! together: each item's result with its loop variable, the items' warnings and
//! deprecations moved up to the loop's result, and the keys in Ansible's order (a
//! registered result's `to_json` shows it).

use serde_json::{Map, Value as Json};

use super::item::ItemResult;

/// What the loop's items came to.
pub(super) struct Summary {
    pub changed: bool,
    pub failed: bool,
    pub all_skipped: bool,
}

/// The loop's result from its items' `results` (each with the item it ran for), the loop
/// variable's name being `var`.
pub(super) fn loop_result(results: &[(Option<Json>, ItemResult)], var: &str, s: &Summary) -> Json {
    let mut warnings = Vec::new();
    let mut deprecations = Vec::new();
    let items: Vec<Json> = results
        .iter()
        .map(|(item, r)| {
            let mut m = r.register.clone();
            if let Some(Json::Array(w)) = m.remove("warnings") {
                warnings.extend(w);
            }
            if let Some(Json::Array(d)) = m.remove("deprecations") {
                deprecations.extend(d);
            }
            if let Some(item) = item {
                m.insert(var.to_owned(), item.clone());
            }
            m.insert("ansible_loop_var".into(), Json::from(var));
            Json::Object(m)
        })
        .collect();
    // `skipped` always; `changed` when an item changed, else last; `failed` and its
    // message only when an item failed; the arrays as the items bring them; the closing
    // message after them.
    let mut m = Map::new();
    m.insert("results".into(), Json::Array(items));
    m.insert("skipped".into(), Json::Bool(s.all_skipped));
    if s.changed {
        m.insert("changed".into(), Json::Bool(true));
    }
    if s.failed {
        m.insert("failed".into(), Json::Bool(true));
        m.insert("msg".into(), Json::from("One or more items failed"));
    }
    if !warnings.is_empty() {
        m.insert("warnings".into(), Json::Array(warnings));
    }
    if !deprecations.is_empty() {
        m.insert("deprecations".into(), Json::Array(deprecations));
    }
    if s.all_skipped {
        m.insert("msg".into(), Json::from("All items skipped"));
    } else if !s.failed {
        m.insert("msg".into(), Json::from("All items completed"));
    }
    if !s.changed {
        m.insert("changed".into(), Json::Bool(false));
    }
    Json::Object(m)
}
