//! Helpers for module tests: a context, and running check/apply.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{Context, Module, Outcome, Plan};
use crate::template::{Scope, Templater};
use crate::wire::FileContent;

/// Everything a [`Context`] borrows.
pub(crate) struct Harness {
    pub files: BTreeMap<String, FileContent>,
    pub scope: Scope,
    pub environment: Vec<(String, String)>,
    /// The request's `consent` (given by default; consent tests take it away).
    pub consent: bool,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_vars(serde_json::json!({}))
    }

    pub fn with_vars(vars: Json) -> Self {
        let map = match vars {
            Json::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        Harness {
            files: BTreeMap::new(),
            scope: Templater::new().scope(map),
            environment: Vec::new(),
            consent: true,
        }
    }

    pub fn add_file(&mut self, name: &str, data: &str) {
        self.files.insert(
            name.to_owned(),
            FileContent::new(data.as_bytes(), format!("files/{name}")),
        );
    }

    pub fn ctx(&self, check_mode: bool) -> Context<'_> {
        static NO_PAYLOADS: BTreeMap<String, String> = BTreeMap::new();
        Context {
            check_mode,
            diff: true,
            diff_mode: true,
            files: &self.files,
            scope: &self.scope,
            environment: &self.environment,
            timeout: None,
            become_user: None,
            escalated: false,
            consent: self.consent,
            bridged: &NO_PAYLOADS,
            controller: None,
        }
    }

    /// Plans only (check mode).
    pub fn check(&self, module: &dyn Module, args: Json) -> Plan {
        match module.check(&self.ctx(true), &args) {
            Ok(plan) => plan,
            Err(e) => panic!("check failed: {e}"),
        }
    }

    /// Plans, then applies.
    pub fn apply(&self, module: &dyn Module, args: Json) -> Outcome {
        let ctx = self.ctx(false);
        let plan = match module.check(&ctx, &args) {
            Ok(plan) => plan,
            Err(e) => panic!("check failed: {e}"),
        };
        match plan.action {
            None => plan.outcome,
            Some(action) => match action.apply(&ctx) {
                Ok(o) => o,
                Err(e) => panic!("apply failed: {e}"),
            },
        }
    }

    /// Plans and returns the error.
    pub fn check_err(&self, module: &dyn Module, args: Json) -> String {
        match module.check(&self.ctx(true), &args) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }
}

/// Everything observable about a directory tree: per path, the bytes (or link target),
/// mode, mtime and kind. Check mode must leave it identical.
pub(crate) fn snapshot(
    dir: &std::path::Path,
) -> BTreeMap<String, (Vec<u8>, u32, i64, i64, String)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let kind;
        let bytes = if meta.file_type().is_symlink() {
            kind = "link";
            std::fs::read_link(&p)
                .map(|t| t.display().to_string().into_bytes())
                .unwrap_or_default()
        } else if meta.is_dir() {
            kind = "dir";
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(Result::ok).map(|e| e.path()));
            }
            Vec::new()
        } else {
            kind = "file";
            std::fs::read(&p).unwrap_or_default()
        };
        out.insert(
            p.display().to_string(),
            (
                bytes,
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                kind.to_owned(),
            ),
        );
    }
    out
}

/// The content (`None`: absent) and message of one run of a module that edits the file
/// `path` names, on a file holding `initial` (`None`: absent), after checking what every
/// such module owes: check mode leaves the disk alone and plans what the run does, and a
/// second run changes nothing.
pub(crate) fn edit_file(
    module: &dyn Module,
    initial: Option<&str>,
    mut args: Json,
) -> (Option<String>, Outcome) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("f");
    if let Some(init) = initial {
        std::fs::write(&path, init).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Json::Object(m) = &mut args {
        m.insert("path".into(), Json::from(path.display().to_string()));
    }
    let h = Harness::new();
    let before = snapshot(dir.path());
    let plan = h.check(module, args.clone());
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    let out = h.apply(module, args.clone());
    assert_eq!(out.changed, plan.outcome.changed);
    assert_eq!(out.msg, plan.outcome.msg);
    let second = h.apply(module, args);
    assert!(!second.changed, "second run changed again: {}", second.msg);
    (std::fs::read_to_string(&path).ok(), out)
}
