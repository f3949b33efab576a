//! The strings of a loop's items that rendering made. In Ansible 2.19 a template's result
//! is a new string without the trust of the playbook's own text: as data it is fine, but
//! evaluated as a conditional (`assert: "{{ item }}"` with `that:` a rendered string) it
//! is an untrusted expression and fails the task. A string with text around its template,
//! or several templates, is made whatever it names; one `{{ expr }}` may hand a variable's
//! own (trusted) string through, and is not counted.

use std::collections::HashSet;

use serde_json::Value as Json;

use crate::template::{Scope, is_template, single_expression};
use crate::wire::Task;

/// For each of `items` (the rendered loop of `task`), the strings in it that rendering made;
/// empty sets when the loop is a lookup's or its items cannot be paired with what was
/// written.
pub(super) fn per_item(task: &Task, scope: &Scope, items: &[Json]) -> Vec<HashSet<String>> {
    let mut made = vec![HashSet::new(); items.len()];
    let written = match (&task.loop_, &task.loop_with) {
        (Some(Json::Array(written)), None) => written.clone(),
        (Some(Json::String(s)), None) => match scope.resolve_unrendered(s) {
            Some(Json::Array(written)) => written,
            _ => return made,
        },
        _ => return made,
    };
    if written.len() == items.len() {
        for ((w, item), out) in written.iter().zip(items).zip(&mut made) {
            walk(w, item, out);
        }
    }
    made
}

fn walk(written: &Json, rendered: &Json, out: &mut HashSet<String>) {
    match (written, rendered) {
        (Json::String(w), Json::String(r)) if is_template(w) && single_expression(w).is_none() => {
            out.insert(r.trim().to_owned());
        }
        (Json::Array(w), Json::Array(r)) if w.len() == r.len() => {
            w.iter().zip(r).for_each(|(w, r)| walk(w, r, out));
        }
        (Json::Object(w), Json::Object(r)) => {
            for (k, w) in w {
                if let Some(r) = r.get(k) {
                    walk(w, r, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_strings_made_by_a_template_with_text_around_count() {
        let mut out = HashSet::new();
        walk(
            &json!({"that": "'a' == '{{ x }}'", "b": "{{ y }}", "c": "plain", "d": ["{{ z }}!"]}),
            &json!({"that": "'a' == 'a'", "b": "Y", "c": "plain", "d": ["Z!"]}),
            &mut out,
        );
        let mut got: Vec<_> = out.into_iter().collect();
        got.sort();
        assert_eq!(got, ["'a' == 'a'", "Z!"]);
    }
}
