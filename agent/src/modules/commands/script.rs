//! `script`: a script from the controller (shipped in the request, found as `copy` finds
//! its `src`) written to a private temporary directory on the host and run there with its
//! arguments, as Ansible's `script` action runs it: `creates`/`removes`, an absolute
//! `chdir`, `executable`; always changed; a non-zero return code fails; check mode runs
//! nothing (a would-run change with `creates`/`removes`, else skipped, as Ansible).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use serde_json::Value as Json;

use super::args::shell_split;
use super::process::plan_raw;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan};

/// The `script` module.
pub struct Script;

impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["cmd", "creates", "removes", "chdir", "executable"]
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let args = &*super::text_args("script", args)?;
        let text = |k: &str| match args {
            Json::Object(m) => m.get(k).and_then(Json::as_str).map(str::to_owned),
            _ => None,
        };
        let line = match args {
            Json::String(s) => s.clone(),
            _ => text("_raw_params")
                .or_else(|| text("cmd"))
                .unwrap_or_default(),
        };
        let line = line.trim().to_owned();
        let words = shell_split(&line).map_err(|e| ArgsError::new("script", e))?;
        let Some(source) = words.first().cloned() else {
            return Err(ArgsError::new(
                "script",
                "one of the following is required: _raw_params, cmd",
            )
            .into());
        };
        let (creates, removes) = (text("creates"), text("removes"));
        if let Some(c) = &creates
            && Path::new(c).exists()
        {
            return Ok(Plan::done(skipped(format!(
                "{c} exists, matching creates option"
            ))));
        }
        if let Some(r) = &removes
            && !Path::new(r).exists()
        {
            return Ok(Plan::done(skipped(format!(
                "{r} does not exist, matching removes option"
            ))));
        }
        let chdir = text("chdir");
        if let Some(dir) = &chdir
            && !dir.starts_with('/')
        {
            return Err(ModuleError::Failed(format!(
                "chdir {dir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let Some(file) = ctx.files.get(&source) else {
            return Err(ModuleError::Failed(format!(
                "Could not find or access '{source}'"
            )));
        };
        let outcome = if creates.is_some() || removes.is_some() {
            Outcome {
                changed: true,
                msg: format!("would run: {line}"),
                unpredictable: true,
                ..Outcome::default()
            }
        } else {
            skipped("Check mode is not supported for this task.".into())
        };
        let run = Run {
            bytes: file.bytes().to_vec(),
            name: Path::new(&source)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "script".into()),
            source,
            line,
            chdir,
            executable: text("executable"),
        };
        Ok(Plan::change(outcome, run))
    }
}

fn skipped(msg: String) -> Outcome {
    Outcome {
        skipped: true,
        msg,
        ..Outcome::default()
    }
}

/// Writes the script and runs it.
struct Run {
    bytes: Vec<u8>,
    name: String,
    source: String,
    line: String,
    chdir: Option<String>,
    executable: Option<String>,
}

impl Action for Run {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let dir = tempfile::Builder::new()
            .prefix("dr-script-")
            .tempdir()
            .map_err(|e| ModuleError::Failed(format!("cannot make a temporary directory: {e}")))?;
        let path = dir.path().join(&self.name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&path)
            .map_err(|e| ModuleError::Failed(format!("cannot write the script: {e}")))?;
        f.write_all(&self.bytes)
            .map_err(|e| ModuleError::Failed(format!("cannot write the script: {e}")))?;
        drop(f);
        // As Ansible: the script's name in the command line becomes its path on the host.
        let target = self.line.replace(&self.source, &path.display().to_string());
        let line = match &self.executable {
            Some(exe) => format!("{exe} {target}"),
            None => target,
        };
        let line = match &self.chdir {
            Some(dir) => format!("cd {} && {line}", crate::template::shell_quote(dir)),
            None => line,
        };
        let plan = plan_raw("/bin/sh".into(), line);
        let Some(action) = plan.action else {
            return Ok(plan.outcome);
        };
        let outcome = action.apply(ctx);
        drop(dir);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Script;
    use crate::modules::testutil::Harness;
    use crate::wire::FileContent;

    fn harness() -> Harness {
        let mut h = Harness::new();
        h.files.insert(
            "hello.sh".into(),
            FileContent::new(
                b"#!/bin/sh\necho \"hello $1\"\nexit ${2:-0}\n".to_vec(),
                "files/hello.sh",
            ),
        );
        h
    }

    #[test]
    fn runs_the_shipped_script_with_its_arguments() {
        let h = harness();
        let out = h.apply(&Script, json!("hello.sh world"));
        assert!(out.changed && !out.failed, "{out:?}");
        assert_eq!(out.data["stdout"], json!("hello world\n"));
        let failed = h.apply(&Script, json!("hello.sh x 4"));
        assert!(failed.failed);
        assert_eq!(failed.msg, "non-zero return code");
    }

    #[test]
    fn check_mode_runs_nothing_and_creates_skips() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = harness();
        let plan = h.check(&Script, json!("hello.sh"));
        assert!(plan.outcome.skipped);
        let there = dir.path().display().to_string();
        let plan = h.check(&Script, json!({"cmd": "hello.sh", "creates": there}));
        assert!(plan.outcome.skipped && plan.action.is_none());
    }
}
