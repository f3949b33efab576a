//! One Python process serves the run's plugin calls (lookups, filters and tests written in
//! Python): ansible-core is imported once, not once per call. Requests and answers are JSON
//! lines. The process is started on the first call with the plugin directories known then,
//! and started again when they changed; one that died is started again for the next call.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

/// The Python side: the lookup and plugin runners and the serving loop.
const SCRIPT: &str = concat!(
    include_str!("lookup.py"),
    "\n",
    include_str!("plugins.py"),
    "\n",
    include_str!("worker.py")
);

/// The variables that say where the plugins are, as a process was started with them.
type Env = Vec<(&'static str, OsString)>;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    env: Env,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static WORKER: Mutex<Option<Worker>> = Mutex::new(None);

/// The plugin path of every kind known now, and the collections.
fn env() -> Env {
    let join = |dirs: Vec<PathBuf>, var: &str| {
        let mut dirs = dirs;
        dirs.extend(std::env::var_os(var).map(PathBuf::from));
        std::env::join_paths(dirs).unwrap_or_default()
    };
    let mut env = vec![
        (
            "ANSIBLE_LOOKUP_PLUGINS",
            join(super::lookups::dirs(), "ANSIBLE_LOOKUP_PLUGINS"),
        ),
        (
            "ANSIBLE_FILTER_PLUGINS",
            join(super::plugins::paths(true), "ANSIBLE_FILTER_PLUGINS"),
        ),
        (
            "ANSIBLE_TEST_PLUGINS",
            join(super::plugins::paths(false), "ANSIBLE_TEST_PLUGINS"),
        ),
    ];
    env.extend(super::collections_path().map(|p| ("ANSIBLE_COLLECTIONS_PATH", p)));
    env
}

fn start(env: Env) -> Result<Worker, String> {
    let python = super::playbook_python().ok_or_else(|| {
        format!(
            "Python plugins need ansible-core on the controller (dr looked at {})",
            super::SEARCHED
        )
    })?;
    let mut cmd = Command::new(&python);
    cmd.arg("-c")
        .arg(SCRIPT)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", python.display()))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("the Python plugin runner has no pipes".into());
    };
    Ok(Worker {
        child,
        stdin,
        stdout: BufReader::new(stdout),
        env,
    })
}

/// Sends `request` to the run's process and gives its answer.
pub fn call(request: &Value) -> Result<Value, String> {
    let env = env();
    let mut slot = WORKER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.as_ref().is_some_and(|w| w.env != env) {
        *slot = None;
    }
    let worker = match slot.as_mut() {
        Some(w) => w,
        None => slot.insert(start(env)?),
    };
    match exchange(worker, request) {
        Ok(answer) => Ok(answer),
        Err(e) => {
            // Gone (a plugin ended the process): the next call starts another.
            *slot = None;
            Err(e)
        }
    }
}

/// Runs one request in a process of its own with `env` (what one directory holds, read
/// before the run's process exists).
pub fn call_once(env: Env, request: &Value) -> Result<Value, String> {
    let mut worker = start(env)?;
    exchange(&mut worker, request)
}

fn exchange(worker: &mut Worker, request: &Value) -> Result<Value, String> {
    let gone = |e: std::io::Error| format!("the Python plugin runner stopped: {e}");
    worker
        .stdin
        .write_all(format!("{request}\n").as_bytes())
        .and_then(|()| worker.stdin.flush())
        .map_err(gone)?;
    let mut line = String::new();
    match worker.stdout.read_line(&mut line) {
        Ok(0) => Err("the Python plugin runner stopped (a plugin ended it)".into()),
        Ok(_) => serde_json::from_str(&line)
            .map_err(|e| format!("the Python plugin runner answered nonsense: {e}")),
        Err(e) => Err(gone(e)),
    }
}
