//! `command`: run a program without a shell.

use serde_json::Value as Json;

use super::process::{Invocation, parse_spec, plan, split_command};
use super::{ArgsError, Context, Module, ModuleError, Plan};

/// The `command` module.
pub struct Command;

impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "cmd",
            "argv",
            "chdir",
            "creates",
            "removes",
            "stdin",
            "stdin_add_newline",
            "strip_empty_ends",
            "expand_argument_vars",
            "executable",
        ]
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut spec = parse_spec("command", args)?;
        // Ansible's command module accepts `executable`, does not use it, and says so.
        if let Some(executable) = spec.executable.take() {
            spec.warnings.push(format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{executable}'."
            ));
        }
        let argv = match (spec.argv.take(), spec.cmd.take()) {
            (Some(_), Some(_)) => {
                return Err(ArgsError::new(
                    "command",
                    "parameters are mutually exclusive: `cmd` and `argv` (give one)",
                )
                .into());
            }
            (Some(argv), None) => argv
                .into_iter()
                .map(|a| match a {
                    Json::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            (None, Some(line)) => split_command(&line)?,
            (None, None) => Vec::new(),
        };
        if argv.is_empty() {
            return Err(ArgsError::new(
                "command",
                "no command given: one of the following is required: _raw_params, cmd, argv",
            )
            .into());
        }
        plan(Invocation::Argv(argv), spec)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Command;
    use crate::modules::Module;
    use crate::modules::testutil::Harness;

    #[test]
    fn executable_is_not_used_and_warned_about_as_ansible_does() {
        let h = Harness::new();
        let args = json!({"_raw_params": "ls /dev/null", "executable": "/bogus"});
        let plan = h.check(&Command, args.clone());
        assert_eq!(
            plan.outcome.data["warnings"].as_array().map(Vec::len),
            Some(1)
        );
        let outcome = h.apply(&Command, args);
        assert!(!outcome.failed, "{}", outcome.msg);
        assert_eq!(outcome.data["stdout"], "/dev/null");
        let warning = outcome.data["warnings"][0].as_str().unwrap_or_default();
        assert!(warning.contains("no longer supported"), "{warning}");
        assert!(warning.contains("Not using '/bogus'"), "{warning}");
    }

    #[test]
    fn check_plans_and_apply_runs() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let target = dir.path().join("made");
        let h = Harness::new();
        let args = json!(format!("touch {}", target.display()));
        let plan = h.check(&Command, args.clone());
        assert!(plan.outcome.changed);
        assert!(plan.action.is_some());
        assert!(!target.exists(), "check must not run the command");
        let outcome = h.apply(&Command, args);
        assert!(outcome.changed && !outcome.failed);
        assert_eq!(outcome.data["rc"], json!(0));
        assert!(target.exists());
    }

    #[test]
    fn creates_makes_it_idempotent() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let target = dir.path().join("made");
        let h = Harness::new();
        let args = json!({"cmd": format!("touch {}", target.display()), "creates": target.display().to_string()});
        assert!(h.apply(&Command, args.clone()).changed);
        let again = h.check(&Command, args);
        assert!(!again.outcome.changed && again.action.is_none());
        assert!(again.outcome.msg.contains("exists"));
    }

    #[test]
    fn creates_and_removes_are_globs_relative_to_chdir() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("afile.txt"), "").unwrap_or_else(|e| panic!("{e}"));
        let h = Harness::new();
        let chdir = dir.path().display().to_string();
        let skip = h.check(
            &Command,
            json!({"cmd": "false", "creates": "afile.*", "chdir": chdir}),
        );
        assert!(!skip.outcome.changed && skip.action.is_none());
        let runs = h.check(
            &Command,
            json!({"cmd": "true", "removes": format!("{chdir}/afile.*")}),
        );
        assert!(runs.action.is_some());
    }

    #[test]
    fn a_missing_chdir_fails_before_running() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("ran");
        let h = Harness::new();
        let ctx = h.ctx(false);
        let args = json!({"cmd": format!("touch {}", marker.display()), "chdir": dir.path().join("nope").display().to_string()});
        let plan = Command
            .check(&ctx, &args)
            .unwrap_or_else(|e| panic!("check failed: {e}"));
        let err = match plan.action.map(|a| a.apply(&ctx)) {
            Some(Err(e)) => e.to_string(),
            other => panic!("expected a failure, got {other:?}"),
        };
        assert!(
            err.contains("Unable to change directory before execution"),
            "{err}"
        );
        assert!(!marker.exists());
    }

    #[test]
    fn argv_output_and_failure() {
        let h = Harness::new();
        let out = h.apply(
            &Command,
            json!({"argv": ["sh", "-c", "echo out; echo err >&2; exit 4"]}),
        );
        assert!(out.failed);
        assert_eq!(out.data["rc"], json!(4));
        assert_eq!(out.data["stdout"], json!("out"));
        assert_eq!(out.data["stderr_lines"], json!(["err"]));
        assert_eq!(
            out.data["cmd"],
            json!(["sh", "-c", "echo out; echo err >&2; exit 4"])
        );
    }

    #[test]
    fn a_success_has_ansibles_empty_msg() {
        let out = Harness::new().apply(&Command, json!("true"));
        assert!(!out.failed);
        assert_eq!(out.data.get("msg"), Some(&json!("")));
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let h = Harness::new();
        assert!(
            h.check_err(&Command, json!({"cmd": "x", "chdri": "/"}))
                .contains("unknown field `chdri`")
        );
        assert!(
            h.check_err(&Command, json!(""))
                .contains("no command given")
        );
    }
}
