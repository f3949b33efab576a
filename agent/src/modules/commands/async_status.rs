//! `async_status`: the state of an async job (`poll: 0`) from its job file, or
//! `mode: cleanup` to erase that file; Ansible's action and module of the same name.

use crate::modules::argspec::truthy;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::opt_text;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::async_job;

/// The `async_status` module.
pub struct AsyncStatus;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AsyncStatusSpec {
    #[serde(default, deserialize_with = "opt_text")]
    jid: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    mode: Option<String>,
}

impl Module for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["jid", "mode"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: AsyncStatusSpec = parse_args("async_status", args)?;
        let Some(jid) = spec.jid else {
            return Err(ArgsError::new("async_status", "missing required arguments: jid").into());
        };
        let cleanup = match spec.mode.as_deref() {
            None | Some("status") => false,
            Some("cleanup") => true,
            Some(other) => {
                return Err(ArgsError::new(
                    "async_status",
                    format!("value of mode must be one of: status, cleanup, got: {other}"),
                )
                .into());
            }
        };
        let path = async_job::dir(ctx.scope)
            .map_err(ModuleError::Failed)?
            .join(&jid);
        let shown = path.display().to_string();
        // As Ansible's action: the result the module's answer is merged over.
        let mut base = Map::new();
        base.insert("started".into(), Json::Bool(false));
        base.insert("finished".into(), Json::Bool(false));
        for key in ["stdout", "stderr"] {
            base.insert(key.into(), Json::from(""));
            base.insert(format!("{key}_lines"), Json::Array(Vec::new()));
        }
        base.insert("ansible_job_id".into(), Json::from(jid.clone()));
        if cleanup {
            base.insert("erased".into(), Json::from(shown));
        } else {
            base.insert("results_file".into(), Json::from(shown));
            base.insert("started".into(), Json::Bool(true));
        }
        let planned = ctx.check_mode.then(|| async_job::planned(&jid)).flatten();
        let exists = planned.is_some() || path.exists();
        if !exists {
            base.insert("started".into(), Json::Bool(true));
            base.insert("finished".into(), Json::Bool(true));
            return Ok(Plan::done(outcome(base, "could not find job")));
        }
        if cleanup {
            let done = outcome(base, "");
            return Ok(Plan::change(done.clone(), Erase { jid, path, done }));
        }
        let record = match planned {
            Some(record) => Some(record),
            None => std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Map<String, Json>>(&bytes).ok()),
        };
        match record {
            // The file is not written yet: the job is running.
            None => base.insert("finished".into(), Json::Bool(false)),
            // The wrapper's "started" record, or the job's own result.
            Some(mut record) => {
                if record.contains_key("started") {
                    record.entry("finished").or_insert(Json::Bool(false));
                } else {
                    record.insert("finished".into(), Json::Bool(true));
                    record.insert("ansible_job_id".into(), Json::from(jid));
                }
                base.extend(record);
                None
            }
        };
        // As Ansible: `started`/`finished` are booleans whatever the record holds.
        for key in ["started", "finished"] {
            let flag = base.get(key).is_some_and(truthy);
            base.insert(key.into(), Json::Bool(flag));
        }
        Ok(Plan::done(outcome(base, "")))
    }
}

/// The module's outcome in Ansible's shape, from the merged result (`failure` when the
/// module itself fails).
fn outcome(mut data: Map<String, Json>, failure: &str) -> Outcome {
    if !failure.is_empty() {
        data.insert("failed".into(), Json::Bool(true));
        data.insert("msg".into(), Json::from(failure));
    }
    let flag = |k: &str| data.get(k).is_some_and(truthy);
    Outcome {
        changed: flag("changed"),
        failed: flag("failed"),
        skipped: flag("skipped"),
        msg: data
            .get("msg")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned(),
        data: {
            data.remove("changed");
            data.remove("failed");
            data.remove("skipped");
            data
        },
        ansible_shape: true,
        ..Outcome::default()
    }
}

/// `mode: cleanup`: erases the job file.
struct Erase {
    jid: String,
    path: std::path::PathBuf,
    done: Outcome,
}

impl Action for Erase {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        if async_job::forget_planned(&self.jid) && !self.path.exists() {
            return Ok(self.done);
        }
        std::fs::remove_file(&self.path)
            .map_err(|e| ModuleError::io("cannot remove", self.path.display(), e))?;
        Ok(self.done)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::AsyncStatus;
    use crate::modules::testutil::Harness;

    fn harness(dir: &std::path::Path) -> Harness {
        Harness::with_vars(json!({"ansible_async_dir": dir.display().to_string()}))
    }

    #[test]
    fn an_unknown_job_fails_as_in_ansible() {
        let tmp = tempfile::tempdir().unwrap();
        let h = harness(tmp.path());
        let outcome = h.apply(&AsyncStatus, json!({"jid": "nope.1"}));
        assert!(outcome.failed);
        assert_eq!(outcome.msg, "could not find job");
        assert_eq!(outcome.data["finished"], true);
        assert_eq!(outcome.data["started"], true);
    }

    #[test]
    fn a_running_then_finished_job_and_its_cleanup() {
        let tmp = tempfile::tempdir().unwrap();
        let h = harness(tmp.path());
        let file = tmp.path().join("j1.2");
        std::fs::write(
            &file,
            r#"{"started": 1, "finished": 0, "ansible_job_id": "j1.2"}"#,
        )
        .unwrap();
        let running = h.apply(&AsyncStatus, json!({"jid": "j1.2"}));
        assert!(!running.failed && !running.changed);
        assert_eq!(running.data["finished"], false);
        assert_eq!(running.data["started"], true);
        std::fs::write(&file, r#"{"changed": true, "rc": 0, "stdout": "hi"}"#).unwrap();
        let done = h.apply(&AsyncStatus, json!({"jid": "j1.2"}));
        assert!(done.changed && !done.failed);
        assert_eq!(done.data["finished"], true);
        assert_eq!(done.data["stdout"], "hi");
        assert_eq!(done.data["ansible_job_id"], "j1.2");
        let plan = h.check(&AsyncStatus, json!({"jid": "j1.2", "mode": "cleanup"}));
        assert!(
            plan.action.is_some() && file.exists(),
            "check mode erases nothing"
        );
        let erased = h.apply(&AsyncStatus, json!({"jid": "j1.2", "mode": "cleanup"}));
        assert!(!erased.failed);
        assert!(!file.exists());
    }
}
