//! Controller-side files a play needs (`copy: src=`, `template: src=`), read once and shipped
//! inside the request (one round trip per node).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use dr_agent::wire::{FileContent, Task};
use serde_json::{Map, Value};

/// Finds and reads the `src` files of `tasks` (and handlers). A `src` that is a template is
/// rendered with `vars` (and each literal loop item) first. Missing files are left out: the
/// agent then fails that task with a message naming the file.
pub fn collect(
    tasks: &[&Task],
    vars: &Map<String, Value>,
    playbook_dir: &Path,
) -> BTreeMap<String, FileContent> {
    let mut files = BTreeMap::new();
    for task in tasks {
        let sub = match task.module.as_str() {
            "copy" => "files",
            "template" => "templates",
            _ => continue,
        };
        let Some(src) = task.args.get("src").and_then(Value::as_str) else {
            continue;
        };
        for candidate in rendered_srcs(src, task, vars) {
            if files.contains_key(&candidate) {
                continue;
            }
            if let Some((path, bytes)) = find(&candidate, sub, task, playbook_dir) {
                files.insert(candidate, content(&path, bytes));
            }
        }
    }
    files
}

fn rendered_srcs(src: &str, task: &Task, vars: &Map<String, Value>) -> Vec<String> {
    if !src.contains("{{") {
        return vec![src.to_owned()];
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    let loop_var = task.loop_var.clone().unwrap_or_else(|| "item".into());
    let items: Vec<Value> = match &task.loop_ {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![Value::Null],
    };
    let mut out = Vec::new();
    for item in items {
        let mut ctx = vars.clone();
        ctx.insert(loop_var.clone(), item);
        let rendered = env.render_str(src, minijinja::Value::from(minijinja::value::Serde(&ctx)));
        if let Ok(text) = rendered
            && !text.is_empty()
            && !out.contains(&text)
        {
            out.push(text);
        }
    }
    out
}

/// Ansible's search path: next to the task file and the playbook, in `files/` or
/// `templates/` and then directly.
fn find(src: &str, sub: &str, task: &Task, playbook_dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let path = Path::new(src);
    if path.is_absolute() {
        return std::fs::read(path).ok().map(|b| (path.to_path_buf(), b));
    }
    let task_dir = task
        .location
        .rsplitn(3, ':')
        .nth(2)
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf));
    let mut bases: Vec<PathBuf> = Vec::new();
    // A role's task looks in the role first (`templates/`, `files/`), wherever in its
    // `tasks/` the task file is.
    if let Some(role) = task.vars.get("role_path").and_then(Value::as_str) {
        bases.push(PathBuf::from(role));
    }
    if let Some(d) = task_dir {
        if let Some(parent) = d.parent() {
            bases.push(parent.to_path_buf());
        }
        bases.insert(bases.len().min(1), d);
    }
    bases.push(playbook_dir.to_path_buf());
    for base in bases {
        for candidate in [base.join(sub).join(src), base.join(src)] {
            if let Ok(bytes) = std::fs::read(&candidate) {
                return Some((candidate, bytes));
            }
        }
    }
    None
}

fn content(path: &Path, bytes: Vec<u8>) -> FileContent {
    let origin = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(data) => FileContent {
            data,
            base64: false,
            origin,
        },
        Err(e) => FileContent {
            data: base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            base64: true,
            origin,
        },
    }
}
