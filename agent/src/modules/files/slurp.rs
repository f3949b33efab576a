//! `slurp`: a file's bytes, base64-encoded, in the result (`content`, `encoding`,
//! `source`), for `b64decode` in later tasks. Reads only; never a change.

use std::io;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{Context, Module, ModuleError, Outcome, Plan, parse_args, path_arg};

/// The `slurp` module.
pub struct Slurp;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlurpSpec {
    #[serde(alias = "path")]
    src: String,
}

impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &["src", "path"]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: SlurpSpec = parse_args("slurp", args)?;
        let source = path_arg::expand(&spec.src, ctx.environment);
        let bytes = match std::fs::read(&source) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Plan::done(Outcome::failed(why(&e, &source)))),
        };
        let mut o = Outcome::default();
        o.data.insert(
            "content".into(),
            Json::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
        o.data.insert("source".into(), Json::from(source));
        o.data.insert("encoding".into(), Json::from("base64"));
        Ok(Plan::done(o))
    }
}

/// Ansible's messages for the failures it names; others say what the system said.
fn why(e: &io::Error, source: &str) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("File not found: {source}"),
        io::ErrorKind::PermissionDenied => format!("File is not readable: {source}"),
        io::ErrorKind::IsADirectory => {
            format!("Source is a directory and must be a file: {source}")
        }
        _ => format!("Unable to slurp file: {source}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Slurp;
    use crate::modules::testutil::{Harness, snapshot};

    #[test]
    fn content_is_base64_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("bin");
        std::fs::write(&f, b"\x00\xffhello\n").unwrap_or_else(|e| panic!("{e}"));
        let before = snapshot(dir.path());
        let h = Harness::new();
        let args = json!({"src": f.display().to_string()});
        let plan = h.check(&Slurp, args.clone());
        assert!(!plan.outcome.changed && plan.action.is_none());
        assert_eq!(plan.outcome.data["content"], json!("AP9oZWxsbwo="));
        assert_eq!(plan.outcome.data["encoding"], json!("base64"));
        assert_eq!(plan.outcome.data["source"], json!(f.display().to_string()));
        for _ in 0..2 {
            let out = h.apply(&Slurp, json!({"path": f.display().to_string()}));
            assert!(!out.changed && !out.failed, "{}", out.msg);
            assert_eq!(out.data["content"], json!("AP9oZWxsbwo="));
        }
        assert_eq!(snapshot(dir.path()), before);
    }

    #[test]
    fn failures_say_what_ansible_says() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let h = Harness::new();
        let d = dir.path().display().to_string();
        let plan = h.check(&Slurp, json!({"src": d}));
        assert!(plan.outcome.failed);
        assert_eq!(
            plan.outcome.msg,
            format!("Source is a directory and must be a file: {d}")
        );
        let missing = format!("{d}/nope");
        let plan = h.check(&Slurp, json!({"src": missing}));
        assert_eq!(plan.outcome.msg, format!("File not found: {missing}"));
        let e = h.check_err(&Slurp, json!({}));
        assert_eq!(e, "missing required arguments: src");
        let e = h.check_err(&Slurp, json!({"src": "/x", "encoding": "utf8"}));
        assert!(
            e.starts_with("invalid arguments for module `slurp`: unknown field `encoding`"),
            "{e}"
        );
    }
}
