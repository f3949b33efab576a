//! A project's own action plugins: `action_plugins/NAME.py` beside a playbook or in a role.
//! Ansible runs them (Python) on the controller; dr cannot, and says so by name instead of
//! calling the task's module unknown.

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
}
