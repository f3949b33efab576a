//! The module bridge: a module dr has no native implementation of runs as Ansible's own
//! module code, under the host's Python, through Ansible's module protocol (parameters as
//! JSON on stdin, the result as JSON on stdout).
//!
//! The controller builds each module's payload (a zip of the module and the
//! `module_utils` it imports, from the ansible-core or collection the operator installed)
//! and names it in the task's arguments under [`CALL_KEY`]; the payload's bytes travel in
//! [`Request::bridged`](crate::wire::Request::bridged) the first time a run needs them on a
//! host, and are cached there by their SHA-256 (see `bridge/payload.rs`).

mod as_user;
pub(super) mod interpreter;
mod payload;
mod result;
pub mod synchronize;

use std::io::Write;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use super::timeout::wait_with_output;
use super::{Action, Context, Module, ModuleError, Outcome, Plan};

/// The key, in a bridged task's arguments, holding its [`Call`] (removed before the module
/// sees its arguments).
pub const CALL_KEY: &str = "_dr_bridge";

/// The Python program that starts a module from its payload (see the file's comment).
const RUNNER: &str = include_str!("bridge/run.py");

/// What the controller tells the agent about a bridged task's module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The module's name as the task wrote it (`replace`, `ansible.builtin.replace`):
    /// Ansible hands it to the module, which uses it in messages.
    pub name: String,
    /// The module's Python name inside the payload (`ansible.modules.replace`).
    #[serde(default)]
    pub python_name: String,
    /// SHA-256 (lowercase hex) of the payload zip.
    #[serde(default)]
    pub sha256: String,
    /// The serialization profile the payload's `module_utils` decode parameters with.
    #[serde(default)]
    pub profile: String,
    /// The ansible-core version the payload comes from (`_ansible_version`).
    #[serde(default)]
    pub version: String,
    /// The task's `no_log` (`_ansible_no_log`: the module keeps its parameters out of logs).
    #[serde(default)]
    pub no_log: bool,
}

/// Whether `module` (as the wire names it) runs through the bridge: bridged modules travel
/// under their fully qualified name (`ansible.builtin.replace`), native ones never do.
pub fn handles(module: &str) -> bool {
    module.contains('.') && !super::ALL.iter().any(|m| m.name() == module)
}

/// Caches the request's payloads on the host before the play runs, so a later request of
/// the run that names them without their bytes finds them, whether or not a task of this
/// play ran them. A failure here shows when a task needs the payload.
pub fn cache(sent: &std::collections::BTreeMap<String, String>) {
    for sha256 in sent.keys() {
        let _ = payload::materialize(sent, sha256);
    }
}

/// Every module without a native implementation.
pub struct Bridge;

impl Module for Bridge {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        // The module validates its own arguments, as in Ansible.
        &[]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (call, module_args) = split(args)?;
        if ctx.check_mode {
            // The module decides what check mode means for it (a module without check mode
            // support answers `skipped`, as under Ansible).
            return Ok(Plan::done(run(ctx, &call, module_args)?));
        }
        Ok(Plan::change(
            Outcome::default(),
            Apply {
                call,
                args: module_args,
            },
        ))
    }
}

/// The apply half: the module run for real.
struct Apply {
    call: Call,
    args: Map<String, Json>,
}

impl Action for Apply {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        run(ctx, &self.call, self.args)
    }
}

/// The task's arguments without the [`Call`], and the call.
fn split(args: &Json) -> Result<(Call, Map<String, Json>), ModuleError> {
    // Bytes values (`!!binary`) reach the Python module as their text.
    let args = &*super::text_args("bridge", args)?;
    let Json::Object(map) = args else {
        return Err(ModuleError::Failed(format!(
            "a bridged module takes a mapping of arguments, found `{args}`"
        )));
    };
    let mut map = map.clone();
    let call = map
        .remove(CALL_KEY)
        .and_then(|c| serde_json::from_value::<Call>(c).ok())
        .filter(|c| !c.sha256.is_empty() && !c.python_name.is_empty())
        .ok_or_else(|| {
            ModuleError::Failed(
                "a bridged task came without its module's payload (a bug in dr)".into(),
            )
        })?;
    Ok((call, map))
}

/// Runs the module once with the task's check and diff modes (also for an action that
/// calls a module of its own, as `fetch` calls `slurp`).
pub(in crate::modules) fn run(
    ctx: &Context<'_>,
    call: &Call,
    mut args: Map<String, Json>,
) -> Result<Outcome, ModuleError> {
    if synchronize::is(&call.python_name) {
        synchronize::action_args(ctx.scope, &mut args)?;
    }
    let python = interpreter::find(ctx.scope, &call.name)?;
    let cached = payload::materialize(ctx.bridged, &call.sha256)?;
    let tmp = tempfile::Builder::new()
        .prefix("dr-module-")
        .tempdir()
        .map_err(|e| {
            ModuleError::io(
                "cannot create a temporary directory in",
                std::env::temp_dir().display(),
                e,
            )
        })?;
    // As another user (`become_user`), the module's process is that user's: its payload
    // and temporary directory are given to it (the cache is the agent's user's alone).
    let zip = match ctx.become_user {
        Some(user) => as_user::hand_over(user, &cached, tmp.path())?,
        None => cached,
    };
    let params = json!({ "ANSIBLE_MODULE_ARGS": with_internal_args(ctx, call, args, &tmp.path().to_string_lossy()) });
    let mut command = super::hostcmd::command_as(ctx.become_user, &python);
    command
        .arg("-c")
        .arg(RUNNER)
        .arg(&zip)
        .arg(&call.python_name)
        .arg(if call.profile.is_empty() {
            "legacy"
        } else {
            &call.profile
        })
        .envs(ctx.environment.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| ModuleError::io("cannot run", python.display(), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let body = params.to_string().into_bytes();
        // A thread, so a module that prints a lot before reading cannot block the agent.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
    }
    let waited = wait_with_output(child, ctx.timeout)
        .map_err(|e| ModuleError::io("cannot wait for", python.display(), e))?;
    if waited.timed_out {
        let secs = ctx.timeout.map_or(0.0, |t| t.as_secs_f64());
        return Ok(Outcome {
            timed_out: true,
            ..Outcome::failed(format!(
                "the task's timeout ({secs} s) ended module `{}`",
                call.name
            ))
        });
    }
    let current_facts = ctx.scope.vars().get("ansible_facts");
    Ok(result::outcome(&call.name, &waited.output, current_facts))
}

/// The module's arguments plus the `_ansible_*` internal arguments ansible-core's action
/// plugin adds before a module runs (`ActionBase._update_module_args`).
fn with_internal_args(
    ctx: &Context<'_>,
    call: &Call,
    mut args: Map<String, Json>,
    tmpdir: &str,
) -> Map<String, Json> {
    let internal = json!({
        "_ansible_check_mode": ctx.check_mode,
        "_ansible_no_log": call.no_log,
        "_ansible_debug": false,
        "_ansible_diff": ctx.diff,
        "_ansible_verbosity": 0,
        "_ansible_version": call.version,
        "_ansible_module_name": call.name,
        "_ansible_syslog_facility": "LOG_USER",
        "_ansible_selinux_special_fs": ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"],
        "_ansible_socket": null,
        "_ansible_shell_executable": "/bin/sh",
        "_ansible_keep_remote_files": false,
        "_ansible_tmpdir": tmpdir,
        "_ansible_remote_tmp": "~/.ansible/tmp",
        "_ansible_ignore_unknown_opts": false,
        "_ansible_target_log_info": null,
        "_ansible_tracebacks_for": [],
    });
    if let Json::Object(internal) = internal {
        args.extend(internal);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_is_taken_out_of_the_arguments() {
        let args = json!({"path": "/x", CALL_KEY: {"name": "replace", "python_name": "ansible.modules.replace", "sha256": "ab"}});
        let (call, rest) = split(&args).unwrap();
        assert_eq!(call.name, "replace");
        assert_eq!(Json::Object(rest), json!({"path": "/x"}));
        let err = split(&json!({"path": "/x"})).unwrap_err();
        assert!(err.to_string().contains("a bug in dr"), "{err}");
    }

    #[test]
    fn only_qualified_names_are_bridged() {
        assert!(handles("ansible.builtin.replace"));
        assert!(handles("community.general.ini_file"));
        assert!(!handles("copy"));
    }
}
