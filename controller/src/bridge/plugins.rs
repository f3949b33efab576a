//! Filter and test plugins written in Python, run on the controller as Ansible runs them: a
//! `filter_plugins/` or `test_plugins/` directory beside a playbook or in a role holds them
//! (Ansible adds both to its plugin path). Their names are listed when the playbook is read
//! (one Python process per directory), so a template that uses one passes the parse-time
//! check; each call runs the plugin with the operator's ansible-core, in the run's Python
//! process (see `worker`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dr_agent::template::python_plugins::PythonPlugins;
use serde_json::{Map, Value, json};

/// The plugin directories read so far and what each holds.
static DIRS: Mutex<BTreeMap<PathBuf, PythonPlugins>> = Mutex::new(BTreeMap::new());

/// Adds the `filter_plugins/` and `test_plugins/` directories of `dir` (a playbook's or a
/// role's directory), if it has any, and lists their plugins.
pub fn add_dirs(dir: &Path) {
    for (sub, filters) in [("filter_plugins", true), ("test_plugins", false)] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        let path = std::path::absolute(&path).unwrap_or(path);
        let mut dirs = lock();
        if dirs.contains_key(&path) {
            continue;
        }
        let mut listed = list(&path, filters).unwrap_or_default();
        // A directory's kind decides what its plugins are.
        if filters {
            listed.tests.clear();
        } else {
            listed.filters.clear();
        }
        dirs.insert(path, listed);
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, PythonPlugins>> {
    DIRS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every Python filter and test plugin known so far.
pub fn names() -> PythonPlugins {
    let mut all = PythonPlugins::default();
    for listed in lock().values() {
        all.filters.extend(listed.filters.iter().cloned());
        all.tests.extend(listed.tests.iter().cloned());
    }
    all.filters.sort();
    all.filters.dedup();
    all.tests.sort();
    all.tests.dedup();
    all
}

/// Whether `name` (or `ansible.legacy.name`) is a Python filter (`filter`) or test plugin.
pub fn has(filter: bool, name: &str) -> bool {
    let short = name.strip_prefix("ansible.legacy.").unwrap_or(name);
    let names = names();
    let list = if filter { &names.filters } else { &names.tests };
    list.iter().any(|n| n == short)
}

/// The directories of one kind (`filters` or tests), for Ansible's plugin path.
pub(super) fn paths(filters: bool) -> Vec<PathBuf> {
    lock()
        .keys()
        .filter(|p| {
            p.ends_with(if filters {
                "filter_plugins"
            } else {
                "test_plugins"
            })
        })
        .cloned()
        .collect()
}

/// The plugins of one directory, listed in a process of its own with only that directory.
fn list(path: &Path, filters: bool) -> Result<PythonPlugins, String> {
    let var = if filters {
        "ANSIBLE_FILTER_PLUGINS"
    } else {
        "ANSIBLE_TEST_PLUGINS"
    };
    let answer = super::worker::call_once(
        vec![(var, path.as_os_str().to_owned())],
        &json!({"op": "plugin", "list": true}),
    )?;
    serde_json::from_value(answer).map_err(|e| e.to_string())
}

/// Runs filter (`kind` "filter") or test plugin `name` on `args` (the value first) and
/// `kwargs`: its result, or its failure.
pub fn run(
    kind: &str,
    name: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, String> {
    let answer = super::worker::call(
        &json!({"op": "plugin", "kind": kind, "name": name, "args": args, "kwargs": kwargs}),
    )?;
    match (answer.get("values"), answer.get("error")) {
        (Some(Value::Array(values)), _) if values.len() == 1 => Ok(values[0].clone()),
        (_, Some(Value::String(error))) => Err(error.clone()),
        _ => Err(format!("{kind} plugin `{name}` answered {answer}")),
    }
}
