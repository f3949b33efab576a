//! Async jobs, as Ansible's `async_wrapper` runs them: job ids, the job file in the async
//! directory (`~/.ansible_async/<jid>` unless `ansible_async_dir` says otherwise), and the
//! hidden entry point that runs a `poll: 0` job detached from the agent.
//!
//! Both binaries (`dr`, whose local connection runs the engine in-process, and `dr-agent`)
//! call [`main_if_job`] first thing in `main`: the engine starts a job as its own
//! executable with [`ENTRY`], which starts itself once more in a new session (so neither
//! the agent's end, nor a Ctrl-C at dr's terminal, nor the agent's process-group kill
//! reaches it), runs the module, and writes the module's result into the job file
//! atomically.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::modules::{self, Context};
use crate::template::{Scope, Templater};

/// The first argument that makes a binary run a job instead of its usual work.
pub const ENTRY: &str = "__async_job";

/// The second argument of the job's detached stage.
const DETACHED: &str = "detached";

/// Ansible's default async directory.
pub const DEFAULT_DIR: &str = "~/.ansible_async";

/// What a detached job runs (sent on its stdin, never in argv).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job id (`j123456789012.4242`).
    pub jid: String,
    /// The job file.
    pub path: PathBuf,
    /// Seconds the job may run before it is killed.
    pub limit_secs: u64,
    /// The module (`command`, `shell`).
    pub module: String,
    /// Its rendered arguments.
    pub args: Json,
    /// The task's rendered `environment:`.
    pub environment: Vec<(String, String)>,
}

/// Runs the job stage named on the command line, if there is one: the exit code to end
/// with. `None`: this is not a job, carry on.
pub fn main_if_job() -> Option<i32> {
    let args: Vec<String> = std::env::args().skip(1).take(2).collect();
    if args.first().map(String::as_str) != Some(ENTRY) {
        return None;
    }
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return Some(2);
    }
    let Ok(spec) = serde_json::from_slice::<JobSpec>(&input) else {
        return Some(2);
    };
    if args.get(1).map(String::as_str) == Some(DETACHED) {
        // Not a group leader (the first stage leads the group), so this cannot fail for
        // that reason; the job now has its own session.
        let _ = rustix::process::setsid();
        let result = run(&spec);
        return Some(if write(&spec.path, &result).is_ok() {
            0
        } else {
            1
        });
    }
    Some(match spawn(&spec, true) {
        Ok(_) => 0,
        Err(_) => 1,
    })
}

/// Starts `spec` detached: writes the job file's "started" record, then starts the job,
/// which outlives this process. Returns once the job runs on its own.
pub fn launch(spec: &JobSpec) -> std::io::Result<()> {
    if let Some(dir) = spec.path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut started = Map::new();
    started.insert("started".into(), Json::Bool(true));
    started.insert("finished".into(), Json::Bool(false));
    started.insert("ansible_job_id".into(), Json::from(spec.jid.clone()));
    write(&spec.path, &started)?;
    let mut first = spawn(spec, false)?;
    // The first stage only starts the second and exits: reap it so no zombie stays.
    std::thread::spawn(move || first.wait());
    Ok(())
}

/// Starts this executable as the job's first stage (its own process group), or, from
/// there, as the detached stage (which then makes its own session).
fn spawn(spec: &JobSpec, detached: bool) -> std::io::Result<std::process::Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg(ENTRY);
    if detached {
        command.arg(DETACHED);
    } else {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn()?;
    let body = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&body)?;
    }
    Ok(child)
}

/// Runs the job's module (check, then apply) with its time limit: the result as the
/// module gives it, or Ansible's `Timeout exceeded` record.
pub fn run(spec: &JobSpec) -> Map<String, Json> {
    let Some(module) = modules::lookup(&spec.module) else {
        return failure(&spec.jid, format!("unknown module `{}`", spec.module));
    };
    let files = BTreeMap::new();
    let bridged = BTreeMap::new();
    let scope = Templater::new().scope(Map::new());
    let ctx = Context {
        check_mode: false,
        diff: false,
        diff_mode: false,
        files: &files,
        scope: &scope,
        environment: &spec.environment,
        timeout: (spec.limit_secs > 0).then(|| Duration::from_secs(spec.limit_secs)),
        become_user: None,
        escalated: false,
        consent: false,
        bridged: &bridged,
        controller: None,
    };
    let outcome = match module.check(&ctx, &spec.args) {
        Err(e) => modules::Outcome::failed(e.to_string()),
        Ok(plan) => match plan.action {
            None => plan.outcome,
            Some(action) => action
                .apply(&ctx)
                .unwrap_or_else(|e| modules::Outcome::failed(e.to_string())),
        },
    };
    if outcome.timed_out {
        return killed();
    }
    crate::engine::registered(&outcome)
}

/// The record Ansible's wrapper leaves for a job it killed at its time limit.
pub fn killed() -> Map<String, Json> {
    let mut record = Map::new();
    record.insert("msg".into(), Json::from("Timeout exceeded"));
    record.insert("failed".into(), Json::Bool(true));
    record.insert("child_pid".into(), Json::from(std::process::id()));
    record
}

fn failure(jid: &str, msg: String) -> Map<String, Json> {
    let mut record = Map::new();
    record.insert("failed".into(), Json::Bool(true));
    record.insert("msg".into(), Json::from(msg));
    record.insert("ansible_job_id".into(), Json::from(jid));
    record
}

/// Writes a job file atomically (a temporary file beside it, then a rename), as the
/// wrapper does: a reader sees the old record or the new one.
pub fn write(path: &Path, record: &Map<String, Json>) -> std::io::Result<()> {
    let body = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(path, &body, crate::fsutil::Attrs::default(), 0o600)
}

/// A new job id, as Ansible makes them: `j`, a random number below 10^12, `.`, a pid.
pub fn new_jid() -> String {
    format!(
        "j{}.{}",
        fastrand::u64(0..999_999_999_999),
        std::process::id()
    )
}

/// The async directory for a task: `ansible_async_dir` when the host's variables set it,
/// else `~/.ansible_async`, with `~` expanded for the agent's user.
pub fn dir(scope: &Scope) -> Result<PathBuf, String> {
    let written = match scope.vars().get("ansible_async_dir") {
        Some(v) => match scope.render_value(v) {
            Ok(Json::String(s)) => s,
            Ok(other) => {
                return Err(format!(
                    "`ansible_async_dir` must be a path, found `{other}`"
                ));
            }
            Err(e) => return Err(format!("`ansible_async_dir`: {e}")),
        },
        None => DEFAULT_DIR.to_owned(),
    };
    Ok(expand_home(&written))
}

fn expand_home(path: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match path.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(path)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(h) => h.join(rest.trim_start_matches('/')),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    }
}

/// Results of `poll: 0` jobs that check mode only planned (nothing was started or
/// written): `async_status` in the same run reads them instead of a job file.
static PLANNED: Mutex<BTreeMap<String, Map<String, Json>>> = Mutex::new(BTreeMap::new());

/// Records the result a planned job would leave.
pub fn remember_planned(jid: &str, result: Map<String, Json>) {
    PLANNED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(jid.to_owned(), result);
}

/// The result of a job check mode planned, if `jid` is one.
pub fn planned(jid: &str) -> Option<Map<String, Json>> {
    PLANNED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(jid)
        .cloned()
}

/// Forgets a planned job (`async_status: mode=cleanup` in check mode).
pub fn forget_planned(jid: &str) -> bool {
    PLANNED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(jid)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_look_like_ansibles() {
        let jid = new_jid();
        let re = regex::Regex::new(r"^j\d+\.\d+$").unwrap();
        assert!(re.is_match(&jid), "{jid}");
    }

    #[test]
    fn the_default_dir_is_under_home() {
        let scope = Templater::new().scope(Map::new());
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            dir(&scope).unwrap(),
            PathBuf::from(home).join(".ansible_async")
        );
    }

    #[test]
    fn a_job_runs_its_module_and_records_the_result() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = JobSpec {
            jid: "j1.1".into(),
            path: tmp.path().join("j1.1"),
            limit_secs: 10,
            module: "shell".into(),
            args: Json::from("echo hi"),
            environment: Vec::new(),
        };
        let result = run(&spec);
        assert_eq!(result["stdout"], "hi");
        assert_eq!(result["rc"], 0);
        assert_eq!(result["changed"], true);
    }

    #[test]
    fn a_job_past_its_limit_is_killed_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = JobSpec {
            jid: "j2.1".into(),
            path: tmp.path().join("j2.1"),
            limit_secs: 1,
            module: "shell".into(),
            args: Json::from("sleep 30"),
            environment: Vec::new(),
        };
        let result = run(&spec);
        assert_eq!(result["msg"], "Timeout exceeded");
        assert_eq!(result["failed"], true);
    }
}
