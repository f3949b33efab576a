//! `raw`: a command line run with the host's shell as it is written, no module around it
//! (Ansible's `raw` action). Always changed; a non-zero return code fails it; check mode
//! does not run it.

use serde_json::Value as Json;

use super::process::plan_raw;
use super::{ArgsError, Context, Module, ModuleError, Plan};

/// The `raw` module.
pub struct Raw;

impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["executable"]
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (line, executable) = match &*super::text_args("raw", args)? {
            Json::String(line) => (line.clone(), None),
            Json::Object(m) => (
                m.get("_raw_params")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                m.get("executable")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
            ),
            _ => (String::new(), None),
        };
        if line.trim().is_empty() {
            return Err(ArgsError::new("raw", "no command given").into());
        }
        let shell = executable.unwrap_or_else(|| "/bin/sh".to_owned());
        Ok(plan_raw(shell, line))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Raw;
    use crate::modules::testutil::Harness;

    #[test]
    fn runs_the_line_as_written_and_keeps_its_output() {
        let h = Harness::new();
        let out = h.apply(&Raw, json!("echo hi; echo err >&2"));
        assert!(out.changed && !out.failed);
        assert_eq!(out.data["stdout"], json!("hi\n"));
        assert_eq!(out.data["stderr_lines"], json!(["err"]));
        assert!(out.data.get("cmd").is_none());
        let failed = h.apply(&Raw, json!("exit 3"));
        assert!(failed.failed);
        assert_eq!(failed.msg, "non-zero return code");
        assert_eq!(failed.data["rc"], json!(3));
    }

    #[test]
    fn check_mode_does_not_run_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("ran");
        let h = Harness::new();
        let plan = h.check(&Raw, json!(format!("touch {}", marker.display())));
        assert!(plan.outcome.skipped && !plan.outcome.changed);
        assert!(!marker.exists());
    }
}
