//! `async:` / `poll:` on a task, as Ansible's task executor runs them (`command`/`shell`
//! only; the controller refuses the keyword elsewhere).
//!
//! `poll > 0`: the module runs and the result is the module's, plus the job's keys
//! (`ansible_job_id`, `started`, `finished`, `results_file`). Ansible reads the job's status
//! every `poll` seconds until the limit is used up, while its wrapper kills the job at its
//! first check past the limit; dr waits for the process itself (the same result, sooner)
//! and kills its process group when the first of the two comes: the task then fails with
//! Ansible's `async task did not complete within the requested time`, or, when Ansible's
//! last poll would come after the wrapper recorded the kill, with that record (`Timeout
//! exceeded`). A stopped play kills it, as any command.
//!
//! `poll: 0`: the job starts detached ([`crate::async_job`]) and the task returns at once
//! with Ansible's "started" result; `async_status` reads the job file later. In check mode
//! nothing starts and nothing is written: the result the job would leave is kept in memory
//! for `async_status` in the same run.

use serde_json::{Map, Value as Json};

use super::item::{check_mode_skip, number_of, register_of};
use crate::async_job::{self, JobSpec};
use crate::modules::{Context, Module, Outcome};
use crate::template::Scope;
use crate::wire::Task;

/// Ansible's default `poll`.
const DEFAULT_POLL: u64 = 15;

/// A task's rendered `async` and `poll`.
#[derive(Debug, Clone, Copy)]
pub(super) struct AsyncSpec {
    /// Seconds the job may run.
    limit: u64,
    /// Seconds between checks; 0 = fire and forget.
    poll: u64,
}

impl AsyncSpec {
    /// When Ansible's wrapper kills a job still running: it checks every 5 s (every half
    /// limit when the limit is 5 s or less) and kills at the first check past the limit.
    fn wrapper_kill(&self) -> u64 {
        if self.limit <= 5 {
            self.limit
        } else {
            self.limit.div_ceil(5) * 5
        }
    }

    /// When Ansible's executor reads the job's status for the last time: every `poll`
    /// seconds while the limit is not used up.
    fn last_poll(&self) -> u64 {
        self.limit.div_ceil(self.poll) * self.poll
    }
}

/// The task's `async`/`poll`, rendered as Ansible's integer fields; `None` when the task
/// runs in the foreground (no `async`, or `async: 0`).
pub(super) fn spec(scope: &Scope, task: &Task) -> Result<Option<AsyncSpec>, String> {
    let Some(limit) = number_of(scope, task.async_.as_ref(), "async")? else {
        return Ok(None);
    };
    // As Ansible: integers (`2.5` is 2), and a task with `async: 0` is not async.
    let limit = limit.trunc() as u64;
    if limit == 0 {
        return Ok(None);
    }
    let poll =
        number_of(scope, task.poll.as_ref(), "poll")?.map_or(DEFAULT_POLL, |p| p.trunc() as u64);
    Ok(Some(AsyncSpec { limit, poll }))
}

/// Runs `module` as an async job: the outcome, and whether it is a plan that was not
/// applied (as [`super::item`]'s `call`).
pub(super) fn call(
    module: &dyn Module,
    ctx: &Context<'_>,
    args: &Json,
    spec: &AsyncSpec,
) -> (Outcome, bool) {
    let dir = match async_job::dir(ctx.scope) {
        Ok(d) => d,
        Err(e) => return (Outcome::failed(e), false),
    };
    let jid = async_job::new_jid();
    let path = dir.join(&jid);
    let results_file = path.display().to_string();
    let plan = module.check(ctx, args);
    if spec.poll == 0 {
        let launched = match plan {
            // As Ansible: the job starts, and its result (here, the failure) is in the file.
            Err(e) => record_now(ctx, &jid, &path, &failed(e.to_string())),
            Ok(plan) => match plan.action {
                None => record_now(ctx, &jid, &path, &register_of(&plan.outcome)),
                Some(_) if ctx.check_mode => {
                    let mut result = register_of(&plan.outcome);
                    if plan.outcome.unpredictable {
                        check_mode_skip(module.name(), args, &mut result);
                    }
                    async_job::remember_planned(&jid, result);
                    Ok(())
                }
                Some(_) => async_job::launch(&JobSpec {
                    jid: jid.clone(),
                    path: path.clone(),
                    // As Ansible's wrapper, which checks the job every 5 s.
                    limit_secs: spec.wrapper_kill(),
                    module: module.name().to_owned(),
                    args: args.clone(),
                    environment: ctx.environment.to_vec(),
                }),
            },
        };
        if let Err(e) = launched {
            return (
                Outcome::failed(format!("cannot start the async job `{jid}`: {e}")),
                false,
            );
        }
        return (started(&jid, &results_file), false);
    }
    let (mut outcome, planned) = match plan {
        Err(e) => (Outcome::failed(e.to_string()), false),
        Ok(plan) => match plan.action {
            None => (plan.outcome, false),
            Some(_) if ctx.check_mode => (plan.outcome, true),
            Some(action) => {
                let (kill, last_poll) = (spec.wrapper_kill(), spec.last_poll());
                let limited = Context {
                    timeout: Some(std::time::Duration::from_secs(kill.min(last_poll))),
                    ..*ctx
                };
                let outcome = action
                    .apply(&limited)
                    .unwrap_or_else(|e| Outcome::failed(e.to_string()));
                if !outcome.timed_out {
                    (outcome, false)
                } else if last_poll > kill {
                    // The last poll came after the wrapper killed the job and recorded it
                    // (a second after the kill): that record is the result, as in Ansible.
                    (killed(&jid, &results_file), false)
                } else {
                    // As Ansible's wrapper, which leaves this record of the job it killed
                    // (its status was last read before, so the result does not show it).
                    let _ = record_now(ctx, &jid, &path, &async_job::killed());
                    return (timed_out(&jid, &results_file, spec.limit), false);
                }
            }
        },
    };
    let data = &mut outcome.data;
    data.insert("ansible_job_id".into(), Json::from(jid));
    data.insert("started".into(), Json::Bool(true));
    data.insert("finished".into(), Json::Bool(true));
    data.insert("results_file".into(), Json::from(results_file));
    (outcome, planned)
}

/// A job whose result is known without running anything (its module skipped itself, or
/// failed on its arguments): the file gets the result at once; check mode keeps it in
/// memory instead.
fn record_now(
    ctx: &Context<'_>,
    jid: &str,
    path: &std::path::Path,
    result: &Map<String, Json>,
) -> std::io::Result<()> {
    if ctx.check_mode {
        async_job::remember_planned(jid, result.clone());
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    async_job::write(path, result)
}

fn failed(msg: String) -> Map<String, Json> {
    register_of(&Outcome::failed(msg))
}

/// Ansible's result for a job started with `poll: 0`.
fn started(jid: &str, results_file: &str) -> Outcome {
    let mut outcome = Outcome {
        changed: true,
        ansible_shape: true,
        ..Outcome::default()
    };
    let data = &mut outcome.data;
    data.insert("ansible_job_id".into(), Json::from(jid));
    data.insert("started".into(), Json::Bool(true));
    data.insert("finished".into(), Json::Bool(false));
    data.insert("results_file".into(), Json::from(results_file));
    outcome
}

/// The result of a job the wrapper killed before the executor's last poll: the killed
/// record as `async_status` reads it (the file is then cleaned up).
fn killed(jid: &str, results_file: &str) -> Outcome {
    let mut data = async_job::killed();
    let msg = data
        .remove("msg")
        .and_then(|m| m.as_str().map(str::to_owned))
        .unwrap_or_default();
    data.remove("failed");
    data.insert("ansible_job_id".into(), Json::from(jid));
    data.insert("finished".into(), Json::Bool(true));
    data.insert("results_file".into(), Json::from(results_file));
    data.insert("started".into(), Json::Bool(true));
    for key in ["stdout", "stderr"] {
        data.insert(key.into(), Json::from(""));
        data.insert(format!("{key}_lines"), Json::Array(Vec::new()));
    }
    let mut outcome = Outcome::failed(msg);
    outcome.data = data;
    outcome.ansible_shape = true;
    outcome
}

/// Ansible's failure for a job still running at its time limit (dr has killed it).
fn timed_out(jid: &str, results_file: &str, limit: u64) -> Outcome {
    let mut status = Map::new();
    status.insert("ansible_job_id".into(), Json::from(jid));
    status.insert("finished".into(), Json::Bool(false));
    status.insert("results_file".into(), Json::from(results_file));
    status.insert("started".into(), Json::Bool(true));
    for key in ["stdout", "stderr"] {
        status.insert(key.into(), Json::from(""));
        status.insert(format!("{key}_lines"), Json::Array(Vec::new()));
    }
    let mut outcome = Outcome::failed(format!(
        "async task did not complete within the requested time - {limit}s"
    ));
    outcome
        .data
        .insert("async_result".into(), Json::Object(status));
    outcome
}

#[cfg(test)]
mod tests {
    use super::AsyncSpec;

    #[test]
    fn kill_and_last_poll_times_are_ansibles() {
        let at = |limit, poll| {
            let s = AsyncSpec { limit, poll };
            (s.wrapper_kill(), s.last_poll())
        };
        // The wrapper checks every half limit up to 5 s, then every 5 s.
        assert_eq!(at(1, 1), (1, 1));
        assert_eq!(at(2, 4), (2, 4));
        assert_eq!(at(7, 1), (10, 7));
        assert_eq!(at(10, 15), (10, 15));
        assert_eq!(at(45, 15), (45, 45));
    }
}
