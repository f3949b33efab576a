//! Ansible's search path for a task's controller files (`files/`, `templates/`, lookups):
//! the task's role, the task file's directory (and its parent when that is a `tasks/`
//! directory), then the playbook's directory; in each, `<subdir>/<name>` then `<name>`.

use std::path::{Path, PathBuf};

use dr_agent::wire::Task;
use serde_json::Value;

/// The directories searched for `task`'s files, most specific first.
pub fn bases(task: &Task, playbook_dir: &Path) -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(role) = task.vars.get("role_path").and_then(Value::as_str) {
        bases.push(PathBuf::from(role));
    }
    let task_dir = task
        .location
        .rsplitn(3, ':')
        .nth(2)
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf));
    if let Some(d) = task_dir {
        if d.file_name().is_some_and(|n| n == "tasks")
            && let Some(parent) = d.parent()
            && !bases.iter().any(|b| b == parent)
        {
            bases.push(parent.to_path_buf());
        }
        if !bases.contains(&d) {
            bases.push(d);
        }
    }
    if !bases.iter().any(|b| b == playbook_dir) {
        bases.push(playbook_dir.to_path_buf());
    }
    // Absolute, as Ansible's basedir is: what a lookup finds (`fileglob`) names the file
    // wherever it is used, and a playbook in the working directory has an empty parent.
    let mut absolute: Vec<PathBuf> = Vec::new();
    for b in bases {
        let b = if b.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            b
        };
        let b = std::path::absolute(&b).unwrap_or(b);
        if !absolute.contains(&b) {
            absolute.push(b);
        }
    }
    absolute
}

/// The first existing file for `name` under `subdir` (an absolute `name` is itself).
pub fn find(name: &str, subdir: &str, task: &Task, playbook_dir: &Path) -> Option<PathBuf> {
    candidates(name, subdir, task, playbook_dir)
        .into_iter()
        .find(|p| p.is_file())
}

/// Every place `name` is looked for, in order (for "not found" messages too).
pub fn candidates(name: &str, subdir: &str, task: &Task, playbook_dir: &Path) -> Vec<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return vec![path.to_path_buf()];
    }
    bases(task, playbook_dir)
        .into_iter()
        .flat_map(|b| {
            let in_subdir = (!subdir.is_empty()).then(|| b.join(subdir).join(name));
            in_subdir.into_iter().chain(std::iter::once(b.join(name)))
        })
        .collect()
}

/// The first existing directory for `name` under `subdir` (as [`find`], for directories).
pub fn find_dir(name: &str, subdir: &str, task: &Task, playbook_dir: &Path) -> Option<PathBuf> {
    candidates(name, subdir, task, playbook_dir)
        .into_iter()
        .find(|p| p.is_dir())
}
