//! File names written as templates (`include_tasks`, `include_vars`), resolved on the
//! controller for one host: rendered with the host's variables for each literal loop item,
//! or, where they cannot render there (they read facts), every file their pattern matches.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use dr_agent::template::Templater;
use dr_agent::wire::Task;
use regex::Regex;
use serde_json::{Map, Value};

/// The names `template` renders to for `task` on a host with `vars` (one per literal loop
/// item); `None` for an item where it does not render.
pub fn rendered(template: &str, task: &Task, vars: &Map<String, Value>) -> Vec<Option<String>> {
    let templater = Templater::new();
    let loop_var = task.loop_var.clone().unwrap_or_else(|| "item".into());
    let items: Vec<Option<Value>> = match &task.loop_ {
        Some(Value::Array(items)) => items.iter().cloned().map(Some).collect(),
        _ => vec![None],
    };
    items
        .into_iter()
        .map(|item| {
            let mut scope = vars.clone();
            // The role's defaults (and an include's `role_path`) where nothing else is set.
            for (k, v) in &task.role_defaults {
                scope.entry(k.clone()).or_insert_with(|| v.clone());
            }
            scope.extend(task.vars.clone());
            if let Some(item) = item {
                scope.insert(loop_var.clone(), item);
            }
            templater
                .scope(scope)
                .render_string(template)
                .ok()
                .filter(|n| !n.is_empty() && !n.contains("{{"))
        })
        .collect()
}

/// The names `template` may render to: each `{{ ... }}` of its last path component read as
/// a wildcard, the directories before it literal, files looked up under each of `bases`.
pub fn pattern_matches(template: &str, bases: &[PathBuf]) -> Vec<String> {
    static EXPR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{\{.*?\}\}").expect("static regex is valid"));
    let (dir_part, file_part) = match template.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, template),
    };
    if dir_part.is_some_and(|d| d.contains("{{")) {
        return Vec::new();
    }
    let literal: Vec<String> = EXPR.split(file_part).map(regex::escape).collect();
    let Ok(matcher) = Regex::new(&format!("^{}$", literal.join(".+"))) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for base in bases {
        let dir = dir_part.map_or(base.clone(), |d| base.join(d));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|f| matcher.is_match(f))
            .map(|f| dir_part.map_or(f.clone(), |d| format!("{d}/{f}")))
            .filter(|f| !out.contains(f))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// The directory of the file that defines `task` (from its `file:line:col` location).
pub fn task_dir(task: &Task) -> Option<PathBuf> {
    task.location
        .rsplitn(3, ':')
        .nth(2)
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf))
}
