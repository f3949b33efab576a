//! Lookup plugins dr has no native implementation of, run on the controller as Ansible runs
//! them: a `lookup_plugins/` directory beside a playbook or in a role (Ansible adds both to
//! its lookup path) holds Python plugins, and ansible-core's own lookups that dr does not
//! implement ([`BUILTIN`]) are ansible-core's code; both run with the operator's
//! ansible-core, in the run's Python process (see `worker`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// The `lookup_plugins/` directories beside the playbooks and in the roles read so far.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Adds `dir` (a playbook's or role's `lookup_plugins/`) to the lookup path, if it exists.
pub fn add_dir(dir: &Path) {
    if !dir.is_dir() {
        return;
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut dirs = DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

pub(super) fn dirs() -> Vec<PathBuf> {
    DIRS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// ansible-core's lookups that dr runs with ansible-core's own code: each needs only its
/// terms, options and the task's variables (`config` reads Ansible's configuration as
/// ansible-playbook would, from the same environment and `ansible.cfg`).
pub const BUILTIN: &[&str] = &[
    "config",
    "csvfile",
    "ini",
    "inventory_hostnames",
    "random_choice",
    "url",
    "varnames",
];

/// Whether `written` (`name` or `ansible.legacy.name`) is a plugin in a `lookup_plugins/`,
/// or one of ansible-core's [`BUILTIN`] lookups with ansible-core installed.
pub fn has(written: &str) -> bool {
    let builtin = written
        .strip_prefix("ansible.builtin.")
        .or_else(|| written.strip_prefix("ansible.legacy."))
        .unwrap_or(written);
    if BUILTIN.contains(&builtin) && super::playbook_python().is_some() {
        return true;
    }
    let short = written.strip_prefix("ansible.legacy.").unwrap_or(written);
    !short.is_empty()
        && !short.contains(['.', '/'])
        && dirs()
            .iter()
            .any(|d| d.join(format!("{short}.py")).is_file())
}

/// Runs plugin `name` with `terms` and `options`, the task's `vars`, relative to `basedir`.
pub fn run(
    name: &str,
    terms: &[Value],
    options: &Map<String, Value>,
    vars: &Map<String, Value>,
    basedir: &Path,
) -> Result<Vec<Value>, String> {
    let request = json!({
        "op": "lookup",
        "name": name,
        "terms": terms,
        "kwargs": options,
        "vars": vars,
        "basedir": basedir,
    });
    let answer =
        super::worker::call(&request).map_err(|e| format!("lookup plugin `{name}`: {e}"))?;
    if answer.get("undefined") == Some(&Value::Bool(true)) {
        return Ok(vec![dr_agent::template::lookup::undefined_term()]);
    }
    match (answer.get("values"), answer.get("error")) {
        (Some(Value::Array(values)), _) => Ok(values.clone()),
        (_, Some(Value::String(error))) => Err(error.clone()),
        _ => Err(format!("lookup plugin `{name}` answered {answer}")),
    }
}
