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
        }
    }

    #[allow(dead_code)] // used by the copy and template tests
    pub fn add_file(&mut self, name: &str, data: &str) {
        self.files.insert(
            name.to_owned(),
            FileContent {
                data: data.to_owned(),
                base64: false,
                origin: format!("files/{name}"),
            },
        );
    }

    pub fn ctx(&self, check_mode: bool) -> Context<'_> {
        Context {
            check_mode,
            diff: true,
            files: &self.files,
            scope: &self.scope,
            environment: &self.environment,
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
