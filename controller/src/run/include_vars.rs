//! The files `include_vars` tasks name, read on the controller and shipped in the request
//! (vault files decrypted, their values secret), as the agent's `include_vars` module
//! expects them.
//!
//! A file is looked up as Ansible does: in the role's `vars/`, the role, beside the task
//! file, the playbook's `vars/`, the playbook's directory. A templated name is resolved
//! like an include's (`candidates.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dr_agent::modules::include_vars::{dir_key, file_key};
use dr_agent::wire::{FileContent, Task};
use regex::Regex;
use serde_json::{Map, Value};

use super::candidates::{pattern_matches, rendered, task_dir};
use super::render_vars::RenderVars;
use crate::playbook::PlaySpec;
use crate::secrets::Secrets;

/// Reads what every `include_vars` of `tasks` may load for a host with `vars`.
pub fn collect(
    tasks: &[&Task],
    vars: &RenderVars,
    play: &PlaySpec,
    secrets: &Secrets,
) -> Result<BTreeMap<String, FileContent>, String> {
    let mut out = BTreeMap::new();
    for task in tasks.iter().filter(|t| t.module == "include_vars") {
        let bases = search_bases(task, &play.dir);
        let args = &task.args;
        let file = match args {
            Value::String(s) => Some(s.trim().to_owned()),
            _ => args
                .get("file")
                .or_else(|| args.get("_raw_params"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        if let Some(template) = file {
            for name in names(&template, task, vars.get(), &bases) {
                let key = file_key(&name);
                if out.contains_key(&key) {
                    continue;
                }
                // A file that does not load is not shipped: if the host includes it, the
                // agent asks for it then and the task fails with the reason (a file only
                // a pattern named may never be included).
                if let Some(path) = find(&name, &bases)
                    && let Ok(map) = crate::vars_file::load(&path, secrets)
                {
                    out.insert(key, shipped(&Value::Object(map), &path));
                }
            }
        } else if let Some(template) = args.get("dir").and_then(Value::as_str) {
            for name in rendered(template, task, vars.get()).into_iter().flatten() {
                let key = dir_key(&name, args);
                let dir = dir_of(&name, task, &play.dir);
                // A directory an earlier task creates is read when the host asks for it.
                if !dir.is_dir() {
                    continue;
                }
                out.insert(key, shipped(&load_dir(&dir, args, secrets), &dir));
            }
        }
    }
    Ok(out)
}

/// The variables of vars file `name` for `task`, read while the play runs (a file an
/// earlier task wrote, unknown before the run): the mapping and the file's path.
pub fn read_now(
    name: &str,
    task: &Task,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> Result<Vec<Value>, String> {
    let bases = search_bases(task, playbook_dir);
    let path = find(name, &bases).ok_or_else(|| format!("Could not find or access '{name}'"))?;
    let map = crate::vars_file::load(&path, secrets).map_err(|d| d.to_string())?;
    Ok(vec![
        Value::Object(map),
        Value::from(path.display().to_string()),
    ])
}

fn names(template: &str, task: &Task, vars: &Map<String, Value>, bases: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in rendered(template, task, vars) {
        let found = match name {
            Some(n) if find(&n, bases).is_some() => vec![n],
            Some(n) if !template.contains("{{") => vec![n],
            _ => pattern_matches(template, bases),
        };
        for n in found {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Where Ansible looks for a relative vars file or directory.
fn search_bases(task: &Task, playbook_dir: &Path) -> Vec<PathBuf> {
    let mut bases = Vec::new();
    if let Some(role) = task.vars.get("role_path").and_then(Value::as_str) {
        bases.push(Path::new(role).join("vars"));
        bases.push(PathBuf::from(role));
    }
    if let Some(dir) = task_dir(task) {
        bases.push(dir.join("vars"));
        bases.push(dir);
    }
    bases.push(playbook_dir.join("vars"));
    bases.push(playbook_dir.to_path_buf());
    bases
}

/// Where `dir:` is, as Ansible's action resolves it: in a role, under its `vars/` (a name
/// starting with `vars/` is under the role itself); elsewhere beside the task's file.
/// What `include_vars: dir=` loads from `dir`: `[path, mapping]` for each file, or why it
/// cannot (which fails the task when it runs, as in Ansible, where `ignore_errors` may
/// let the play go on).
fn load_dir(dir: &Path, args: &Value, secrets: &Secrets) -> Value {
    let loaded = dir_files(dir, args).and_then(|files| {
        files
            .into_iter()
            .map(|path| {
                let map = crate::vars_file::load(&path, secrets).map_err(|d| d.to_string())?;
                Ok(Value::Array(vec![
                    Value::from(path.display().to_string()),
                    Value::Object(map),
                ]))
            })
            .collect::<Result<Vec<_>, String>>()
    });
    match loaded {
        Ok(loaded) => Value::Array(loaded),
        Err(error) => Value::String(error),
    }
}

/// What `include_vars: dir=` loads from `name` for `task`, read while the play runs (a
/// directory an earlier task made, unknown before the run).
pub fn read_dir_now(
    name: &str,
    task: &Task,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> Result<Vec<Value>, String> {
    let dir = dir_of(name, task, playbook_dir);
    if !dir.is_dir() {
        return Err(format!("{name} directory does not exist"));
    }
    Ok(vec![load_dir(&dir, &task.args, secrets)])
}

fn dir_of(name: &str, task: &Task, playbook_dir: &Path) -> PathBuf {
    if Path::new(name).is_absolute() {
        return PathBuf::from(name);
    }
    if let Some(role) = task.vars.get("role_path").and_then(Value::as_str) {
        let role = Path::new(role);
        return if name.split('/').next() == Some("vars") && role.join(name).exists() {
            role.join(name)
        } else {
            role.join("vars").join(name)
        };
    }
    task_dir(task)
        .unwrap_or_else(|| playbook_dir.to_path_buf())
        .join(name)
}

fn find(name: &str, bases: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    bases.iter().map(|b| b.join(name)).find(|p| p.is_file())
}

/// The files `include_vars: dir=` loads, in Ansible's order (sorted, depth first), with
/// its `depth`, `extensions`, `files_matching` and `ignore_files`.
fn dir_files(dir: &Path, args: &Value) -> Result<Vec<PathBuf>, String> {
    let depth = args.get("depth").and_then(|d| match d {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let extensions = strings(args.get("extensions"))
        .unwrap_or_else(|| vec!["yaml".into(), "yml".into(), "json".into()]);
    let matching = match args.get("files_matching").and_then(Value::as_str) {
        Some(re) => Some(Regex::new(re).map_err(|e| format!("`files_matching`: {e}"))?),
        None => None,
    };
    let ignore = strings(args.get("ignore_files")).unwrap_or_default();
    // As Ansible: a file of another extension is an error unless told to skip it.
    let ignore_unknown = match args.get("ignore_unknown_extensions") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
        }
        _ => false,
    };
    let mut unknown: Option<PathBuf> = None;
    let mut out = Vec::new();
    walk(dir, 1, depth.filter(|d| *d > 0), &mut |path: &Path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // As Python's `splitext`: no extension is the extension `''`, which `extensions`
        // may list.
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let ext_ok = extensions.iter().any(|x| x == ext);
        let match_ok = matching.as_ref().is_none_or(|re| re.is_match(name));
        if ignore.iter().any(|i| i == name) || !match_ok {
            return;
        }
        if ext_ok {
            out.push(path.to_path_buf());
        } else if !ignore_unknown {
            unknown.get_or_insert_with(|| path.to_path_buf());
        }
    });
    if let Some(path) = unknown {
        // Ansible's words.
        return Err(format!(
            "{} does not have a valid extension: {}",
            path.display(),
            extensions.join(", ")
        ));
    }
    Ok(out)
}

/// A string or a list of strings.
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(list) => Some(
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

fn walk(dir: &Path, level: u64, max: Option<u64>, found: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in &paths {
        if path.is_file() {
            found(path);
        }
    }
    if max.is_some_and(|m| level >= m) {
        return;
    }
    for path in &paths {
        if path.is_dir() {
            walk(path, level + 1, max, found);
        }
    }
}

fn shipped(value: &Value, origin: &Path) -> FileContent {
    FileContent::new(value.to_string().into_bytes(), origin.display().to_string())
}
