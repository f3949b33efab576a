//! `env_file`: set and unset keys in a dotenv file (`/opt/akira/.env`), keeping key order,
//! comments, blank lines, `export ` prefixes, quoting and every untouched byte.

mod dotenv;

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish};
use super::attrs::{AttrSpec, FileMode};
use super::content::{Before, FileWrite, read_current};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `env_file` module.
pub struct EnvFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFileSpec {
    #[serde(alias = "dest")]
    path: String,
    #[serde(default)]
    set: Map<String, Json>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default, deserialize_with = "opt_bool_ish")]
    create: Option<bool>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
}

impl Module for EnvFile {
    fn name(&self) -> &'static str {
        "env_file"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "path", "dest", "set", "unset", "create", "mode", "owner", "group", "backup",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: EnvFileSpec = parse_args("env_file", args)?;
        let mut set = Vec::new();
        for (k, v) in &spec.set {
            if dotenv::parse_line(&format!("{k}=")).map(|a| a.key) != Some(k.as_str()) {
                return Err(ArgsError::new(
                    "env_file",
                    format!("`{k}` is not a valid variable name"),
                )
                .into());
            }
            if spec.unset.contains(k) {
                return Err(ArgsError::new(
                    "env_file",
                    format!("`{k}` is both in `set` and `unset`"),
                )
                .into());
            }
            let value = match v {
                Json::String(s) => s.clone(),
                Json::Null => String::new(),
                Json::Bool(b) => b.to_string(),
                Json::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            set.push((k.clone(), value));
        }
        let path = PathBuf::from(&spec.path);
        let before = read_current("env_file", &path)?;
        if before.is_none() && spec.create == Some(false) {
            return Err(ModuleError::Failed(format!(
                "`{}` does not exist and `create` is false",
                spec.path
            )));
        }
        let text = match &before {
            None => String::new(),
            Some(bytes) => String::from_utf8(bytes.clone())
                .map_err(|_| ModuleError::Failed(format!("`{}` is not UTF-8 text", spec.path)))?,
        };
        let edited = dotenv::edit(&text, &set, &spec.unset);
        let mut data = Map::new();
        data.insert("path".into(), Json::from(spec.path.clone()));
        data.insert("changed_keys".into(), Json::from(edited.set.clone()));
        data.insert("removed_keys".into(), Json::from(edited.unset.clone()));
        if before.is_none() && edited.text.is_empty() {
            return Ok(Plan::done(Outcome::ok(format!(
                "`{}` does not exist and nothing is to be set",
                spec.path
            ))));
        }
        let mut parts = Vec::new();
        if !edited.set.is_empty() {
            parts.push(format!("set {}", edited.set.join(", ")));
        }
        if !edited.unset.is_empty() {
            parts.push(format!("unset {}", edited.unset.join(", ")));
        }
        FileWrite {
            module: "env_file",
            path,
            before: before.map(Before::Bytes),
            after: edited.text.into_bytes().into(),
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o600,
            backup: spec.backup,
            data,
            create_parents: false,
            msg: (!parts.is_empty()).then(|| parts.join("; ")),
            validate: None,
            follow: true,
        }
        .plan()
    }
}

#[cfg(test)]
mod tests;
