//! `--tags` / `--skip-tags` selection with Ansible's special tags.

/// Whether a task with `task_tags` runs under `--tags only` / `--skip-tags skip`.
///
/// As Ansible: `always` runs unless skipped by name; `never` runs only when one of its
/// tags (or `never`) is asked for; `all`, `tagged` and `untagged` select as named; no
/// `--tags` means `all`.
pub fn selected(task_tags: &[String], only: &[String], skip: &[String]) -> bool {
    let has = |t: &str| task_tags.iter().any(|x| x == t);
    if task_tags.iter().any(|t| skip.contains(t)) {
        return false;
    }
    if skip.iter().any(|s| s == "all") && !has("always") {
        return false;
    }
    if skip.iter().any(|s| s == "tagged") && !task_tags.is_empty() && !has("always") {
        return false;
    }
    if skip.iter().any(|s| s == "untagged") && task_tags.is_empty() {
        return false;
    }
    let named = |t: &String| only.contains(t) && t != "never" && t != "always";
    if has("never") {
        return only.iter().any(|o| o == "never") || task_tags.iter().any(named);
    }
    if only.is_empty() || has("always") {
        return true;
    }
    only.iter().any(|o| {
        o == "all"
            || (o == "tagged" && !task_tags.is_empty())
            || (o == "untagged" && task_tags.is_empty())
    }) || task_tags.iter().any(|t| only.contains(t))
}

/// The tags a templated tag (`"{{ the_tags }}"`) renders to with `scope`: a list, or
/// comma-separated text, as Ansible reads `tags:`; `None` when it does not render.
pub fn rendered_tags(scope: &crate::template::Scope, tag: &str) -> Option<Vec<String>> {
    use serde_json::Value;
    let split = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    match scope.render_value(&Value::from(tag)).ok()? {
        Value::String(s) => Some(split(&s)),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        other => Some(vec![other.to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::selected;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ansible_tag_rules() {
        assert!(selected(&v(&[]), &v(&[]), &v(&[])));
        assert!(selected(&v(&["db"]), &v(&["db"]), &v(&[])));
        assert!(!selected(&v(&["web"]), &v(&["db"]), &v(&[])));
        assert!(!selected(&v(&[]), &v(&["db"]), &v(&[])));
        assert!(selected(&v(&["always"]), &v(&["db"]), &v(&[])));
        assert!(!selected(&v(&["always"]), &v(&[]), &v(&["always"])));
        assert!(!selected(&v(&["never"]), &v(&[]), &v(&[])));
        assert!(!selected(&v(&["never", "debug"]), &v(&[]), &v(&[])));
        assert!(selected(&v(&["never", "debug"]), &v(&["debug"]), &v(&[])));
        assert!(!selected(&v(&["db"]), &v(&[]), &v(&["db"])));
        assert!(selected(&v(&[]), &v(&["untagged"]), &v(&[])));
        assert!(selected(&v(&["x"]), &v(&["tagged"]), &v(&[])));
    }
}
