//! The module bridge, controller side: a module dr has no native implementation of runs as
//! Ansible's own module code, taken from the ansible-core and collections the operator
//! installed (see docs/bridge.md).
//!
//! - [`catalog`]: what is installed, found once per run and only when a playbook names a
//!   module dr does not have;
//! - [`attach`]: a request's bridged tasks get their payload's name, and the request the
//!   payloads its host has not received yet in this run;
//! - [`delivered`]: after a node ran, its host has those payloads in its cache.

mod catalog;
pub mod lookups;
mod payload;
pub mod plugins;
mod python;
pub mod synchronize;
mod worker;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use dr_agent::modules::bridge::{CALL_KEY, Call, handles};
use dr_agent::wire::Task;
use serde_json::{Map, Value};

pub use catalog::{Catalog, Resolved, qualified};
pub use python::SEARCHED;

static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();
static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
static PAYLOADS: OnceLock<payload::Payloads> = OnceLock::new();
/// `host key|sha256` pairs whose payload a host received in this run.
static DELIVERED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// `library/` directories beside the playbooks and in the roles read so far: their modules
/// run through the bridge, as Ansible adds them to its module path.
static LIBRARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Adds `dir` (a playbook's or role's `library/`) to the module path, if it exists.
pub fn add_library(dir: &std::path::Path) {
    if !dir.is_dir() {
        return;
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut dirs = LIBRARY.lock().unwrap_or_else(|p| p.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

/// The `library/` directories known so far (for the payload builder).
pub(crate) fn library_dirs() -> Vec<PathBuf> {
    LIBRARY.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The fully qualified name of a module found in a `library/` directory (`ansible.legacy.X`,
/// as Ansible names modules of its configured path), if `written` is one.
pub fn library_module(written: &str) -> Option<String> {
    let short = written.strip_prefix("ansible.legacy.").unwrap_or(written);
    if short.contains('.') || short.is_empty() {
        return None;
    }
    library_dirs()
        .iter()
        .any(|d| d.join(format!("{short}.py")).is_file() || d.join(short).is_file())
        .then(|| format!("ansible.legacy.{short}"))
}

/// `collections_path` from `ansible.cfg`: searched before `ANSIBLE_COLLECTIONS_PATH`.
static COLLECTIONS: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Names the Python that runs ansible-core (dr.toml's `ansible_python`) and the collection
/// roots `ansible.cfg` adds; call before the first [`catalog`]. Later calls change nothing.
pub fn configure(python: Option<PathBuf>, collections: &[PathBuf]) {
    let _ = CONFIGURED.set(python);
    let _ = COLLECTIONS.set(collections.to_vec());
}

/// A run of the helper script under `python` (`catalog` or `build ...`), seeing the
/// configured collection roots and the playbooks' and roles' `library/` directories.
fn helper(python: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(python);
    c.arg("-c").arg(catalog::HELPER).args(args);
    c.env(
        "DR_BRIDGE_LIBRARY",
        std::env::join_paths(library_dirs()).unwrap_or_default(),
    );
    collections_env(&mut c);
    c.stdin(std::process::Stdio::null());
    c
}

/// Makes `c` see the collection roots `ansible.cfg` adds.
fn collections_env(c: &mut std::process::Command) {
    if let Some(path) = collections_path() {
        c.env("ANSIBLE_COLLECTIONS_PATH", path);
    }
}

/// `ANSIBLE_COLLECTIONS_PATH` with the collection roots `ansible.cfg` adds, when it adds any.
fn collections_path() -> Option<std::ffi::OsString> {
    let mut roots = COLLECTIONS.get().cloned().unwrap_or_default();
    if roots.is_empty() {
        return None;
    }
    roots.extend(std::env::var_os("ANSIBLE_COLLECTIONS_PATH").map(PathBuf::from));
    Some(std::env::join_paths(roots).unwrap_or_default())
}

/// The installed ansible-core's catalog (listed on first use), or why there is none.
pub fn catalog() -> Result<&'static Catalog, &'static str> {
    CATALOG
        .get_or_init(|| {
            let configured = CONFIGURED.get().and_then(Option::as_deref);
            let mut tried = Vec::new();
            for python in python::candidates(configured) {
                match Catalog::load(&python) {
                    Ok(catalog) => return Ok(catalog),
                    Err(why) => tried.push(why),
                }
            }
            Err(format!(
                "no ansible-core found (dr looked at {SEARCHED}): {}",
                tried.join("; ")
            ))
        })
        .as_ref()
        .map_err(String::as_str)
}

/// The Python that runs the operator's ansible-core (Ansible's `ansible_playbook_python`):
/// the catalog's when it was listed, else the first candidate (without running it).
pub fn playbook_python() -> Option<PathBuf> {
    if let Some(Ok(catalog)) = CATALOG.get() {
        return Some(catalog.python.clone());
    }
    let configured = CONFIGURED.get().and_then(Option::as_deref);
    python::candidates(configured).into_iter().next()
}

/// The arguments of a bridged task as the parser leaves them: `args` plus the name the
/// task wrote (the rest of the [`Call`] is filled by [`attach`]).
pub fn mark(args: &mut Map<String, Value>, written: &str) {
    let call = Call {
        name: written.to_owned(),
        ..Call::default()
    };
    if let Ok(v) = serde_json::to_value(call) {
        args.insert(CALL_KEY.into(), v);
    }
}

/// Fills in every bridged task's [`Call`] (payload name, profile, `no_log`) in `tasks`, and
/// returns the payloads (SHA-256 → base64 zip) that `host_key` has not received in this
/// run. Fails naming the module when a payload cannot be built.
pub fn attach(tasks: &mut [Task], host_key: &str) -> Result<BTreeMap<String, String>, String> {
    let mut names = Vec::new();
    // A `slurp` in a play's `library/` is what `fetch` reads with under `become`, as
    // Ansible's action calls `ansible.legacy.slurp`.
    let slurp = library_module("slurp");
    visit(tasks, &mut |t| {
        let name = match &slurp {
            Some(s) if t.module == "fetch" => s,
            _ if handles(&t.module) => &t.module,
            _ => return,
        };
        if !names.contains(name) {
            names.push(name.clone());
        }
    });
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let catalog = catalog()
        .map_err(|why| format!("bridged modules need ansible-core on the controller: {why}"))?;
    let built = PAYLOADS
        .get_or_init(payload::Payloads::new)
        .get(&catalog.python, &names);
    let mut error = None;
    let mut used = BTreeMap::new();
    visit(tasks, &mut |t| {
        let (name, key) = match &slurp {
            Some(s) if t.module == "fetch" => (s, dr_agent::modules::fetch::SLURP_KEY),
            _ => (&t.module, CALL_KEY),
        };
        let Some(payload) = built.get(name) else {
            return;
        };
        let payload = match payload.as_ref() {
            Ok(p) => p,
            Err(why) => {
                error.get_or_insert_with(|| {
                    format!("module `{}` ({}): {why}", t.module, t.location)
                });
                return;
            }
        };
        let Value::Object(args) = &mut t.args else {
            return;
        };
        let mut call: Call = args
            .get(key)
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_else(|| Call {
                name: name.clone(),
                ..Call::default()
            });
        call.python_name = payload.python_name.clone();
        call.sha256 = payload.sha256.clone();
        call.profile = payload.profile.clone();
        call.version = catalog.version.clone();
        call.no_log = t.no_log;
        if let Ok(v) = serde_json::to_value(&call) {
            args.insert(key.into(), v);
        }
        used.insert(payload.sha256.clone(), payload.zip.clone());
    });
    if let Some(e) = error {
        return Err(e);
    }
    let sent = DELIVERED.lock().unwrap_or_else(|p| p.into_inner());
    Ok(used
        .into_iter()
        .filter(|(sha, _)| {
            !sent
                .as_ref()
                .is_some_and(|s| s.contains(&format!("{host_key}|{sha}")))
        })
        .map(|(sha, zip)| (sha, zip.to_string()))
        .collect())
}

/// Records that the host behind `host_key` now has `payloads` in its cache (its node ran),
/// so later requests of this run name them without sending them again.
pub fn delivered<'a>(host_key: &str, payloads: impl IntoIterator<Item = &'a String>) {
    let mut sent = DELIVERED.lock().unwrap_or_else(|p| p.into_inner());
    let set = sent.get_or_insert_with(HashSet::new);
    for sha in payloads {
        set.insert(format!("{host_key}|{sha}"));
    }
}

/// Which cache a request's agent uses: the host, the login user and the become user
/// (`play_become`: the user the play's keywords escalate to).
pub fn host_key(host: &str, vars: &Map<String, Value>, play_become: Option<&str>) -> String {
    let text = |k: &str| vars.get(k).map(Value::to_string).unwrap_or_default();
    format!(
        "{host}|{}|{}",
        text("ansible_user"),
        crate::inventory::escalation(vars, play_become).unwrap_or_default()
    )
}

fn visit(tasks: &mut [Task], f: &mut dyn FnMut(&mut Task)) {
    for t in tasks {
        f(t);
        visit(&mut t.block, f);
        visit(&mut t.rescue, f);
        visit(&mut t.always, f);
    }
}
