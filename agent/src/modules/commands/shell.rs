//! `shell`: run a command line through `/bin/sh` (or `executable`).

use serde_json::Value as Json;

use super::process::{Invocation, parse_spec, plan};
use super::{ArgsError, Context, Module, ModuleError, Plan};

/// The `shell` module.
pub struct Shell;

impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "cmd",
            "chdir",
            "creates",
            "removes",
            "stdin",
            "stdin_add_newline",
            "strip_empty_ends",
            "executable",
        ]
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut spec = parse_spec("shell", args)?;
        if spec.argv.is_some() {
            return Err(ArgsError::new("shell", "`argv` is only for `command`").into());
        }
        let line = spec.cmd.take().unwrap_or_default();
        if line.trim().is_empty() {
            return Err(ArgsError::new(
                "shell",
                "no command given: one of the following is required: _raw_params, cmd, argv",
            )
            .into());
        }
        let shell = spec
            .executable
            .clone()
            .unwrap_or_else(|| "/bin/sh".to_owned());
        plan(Invocation::Shell { shell, line }, spec)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Shell;
    use crate::modules::testutil::Harness;

    #[test]
    fn runs_through_the_shell_with_environment_and_stdin() {
        let mut h = Harness::new();
        h.environment.push(("DR_TEST_VAR".into(), "v1".into()));
        let out = h.apply(
            &Shell,
            json!({"cmd": "read x; echo \"$DR_TEST_VAR $x\" | tr a-z A-Z", "stdin": "in"}),
        );
        assert_eq!(out.data["stdout"], json!("V1 IN"));
        assert_eq!(
            out.data["cmd"],
            json!("read x; echo \"$DR_TEST_VAR $x\" | tr a-z A-Z")
        );
    }

    #[test]
    fn removes_skips_when_missing_and_chdir_applies() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = Harness::new();
        let plan = h.check(
            &Shell,
            json!({"cmd": "rm gone", "removes": "gone", "chdir": dir.path().display().to_string()}),
        );
        assert!(!plan.outcome.changed && plan.action.is_none());
        let out = h.apply(
            &Shell,
            json!({"cmd": "pwd", "chdir": dir.path().display().to_string()}),
        );
        assert!(out.data["stdout"].as_str().is_some_and(|s| {
            s.ends_with(
                &dir.path()
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
            )
        }));
    }

    #[test]
    fn large_input_and_output_do_not_deadlock() {
        let h = Harness::new();
        let input = "x".repeat(1 << 20);
        let out = h.apply(&Shell, json!({"cmd": "head -c 200000 /dev/zero | tr '\\0' y; cat >/dev/null; echo done >&2", "stdin": input}));
        assert_eq!(out.data["stderr"], json!("done"));
        assert_eq!(out.data["stdout"].as_str().map(str::len), Some(200_000));
    }
}
