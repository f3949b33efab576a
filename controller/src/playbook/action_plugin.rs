//! A project's own action plugins: `action_plugins/NAME.py` beside a playbook or in a role.
//! Ansible runs them (Python) on the controller; dr cannot, and says so by name instead of
//! calling the task's module unknown. One kind it does run: a plugin that is only one of
//! Ansible's own actions under another name (`from ansible.plugins.action.debug import
//! ActionModule`), which runs as that action.

use std::path::{Path, PathBuf};

/// The `action_plugins/<name>.py` Ansible would load for a task written in `task_file`: in the
/// task file's directory or any directory above it (a role's `tasks/` sits under the role,
/// whose `action_plugins/` Ansible searches; a playbook's directory holds the playbook's own).
pub fn find_beside(task_file: &str, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    let short = name.rsplit('.').next().unwrap_or(name);
    let start = Path::new(task_file).parent()?;
    start.ancestors().find_map(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let candidate = dir.join("action_plugins").join(format!("{short}.py"));
        candidate.is_file().then(|| {
            if dir == Path::new(".") {
                Path::new("action_plugins").join(format!("{short}.py"))
            } else {
                candidate
            }
        })
    })
}

/// The builtin action (`debug`) that the `action_plugins/<name>.py` found for a task in
/// `task_file` only re-exports, when that is all the file does.
pub fn builtin_alias(task_file: &str, name: &str) -> Option<String> {
    let path = find_beside(task_file, name)?;
    alias_of(&std::fs::read_to_string(path).ok()?)
}

/// The builtin action a plugin's source only re-exports: besides comments, blank lines,
/// `from __future__ import ...` and `assert ActionModule`, one line
/// `from ansible.plugins.action.<name> import ActionModule`.
fn alias_of(source: &str) -> Option<String> {
    let mut action = None;
    for line in source.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("from __future__ import ")
            || line == "assert ActionModule"
        {
            continue;
        }
        let name = line
            .strip_prefix("from ansible.plugins.action.")?
            .strip_suffix(" import ActionModule")?;
        if action.is_some()
            || name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        action = Some(name.to_owned());
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_roles_action_plugin_from_its_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("roles/until");
        std::fs::create_dir_all(role.join("tasks")).unwrap();
        std::fs::create_dir_all(role.join("action_plugins")).unwrap();
        std::fs::write(role.join("action_plugins/shell_no_failed.py"), "").unwrap();
        let task_file = role.join("tasks/main.yml");
        let found = find_beside(task_file.to_str().unwrap(), "shell_no_failed").unwrap();
        assert_eq!(found, role.join("action_plugins/shell_no_failed.py"));
        assert_eq!(
            find_beside(task_file.to_str().unwrap(), "nothing_here"),
            None
        );
        assert_eq!(find_beside(task_file.to_str().unwrap(), "../x"), None);
    }

    #[test]
    fn an_alias_of_a_builtin_action_is_recognised_and_nothing_else() {
        let alias = "# c\nfrom __future__ import annotations\n\nfrom ansible.plugins.action.debug import ActionModule\n\nassert ActionModule\n";
        assert_eq!(alias_of(alias).as_deref(), Some("debug"));
        let more = format!("{alias}\nclass X:\n    pass\n");
        assert_eq!(alias_of(&more), None);
        let own = "from ansible.plugins.action import ActionBase\nclass ActionModule(ActionBase):\n    pass\n";
        assert_eq!(alias_of(own), None);
        assert_eq!(alias_of(""), None);
    }
}
