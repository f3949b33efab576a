//! `replace`: replace every match of a regular expression in a file, as Ansible's
//! `replace.py` does (Python `re` semantics, MULTILINE; `after`/`before` narrow the
//! section with a DOTALL pattern).

mod message;
pub(in crate::modules) mod pyre;

pub(in crate::modules) use message::ansible_message;

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::attrs::{AttrSpec, FileMode};
use super::content::{Before, FileWrite, read_current};
use super::path_arg;
use super::pyregex::{Flags, TextRegex};
use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `replace` module.
pub struct Replace;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceSpec {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    regexp: String,
    #[serde(default)]
    replace: Option<Json>,
    after: Option<String>,
    before: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    backup: bool,
    validate: Option<String>,
    encoding: Option<String>,
    mode: Option<FileMode>,
    owner: Option<Json>,
    group: Option<Json>,
}

impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "unsafe_writes",
            "path",
            "dest",
            "destfile",
            "name",
            "regexp",
            "replace",
            "after",
            "before",
            "backup",
            "validate",
            "encoding",
            "mode",
            "owner",
            "group",
        ]
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let mut spec: ReplaceSpec = parse_args("replace", args)?;
        // `type='path'` in Ansible's module: `~` and `$VAR` expanded before any use.
        spec.path = path_arg::expand(&spec.path, ctx.environment);
        let bad = |m: String| ModuleError::from(ArgsError::new("replace", m));
        if let Some(enc) = &spec.encoding
            && !matches!(
                enc.to_ascii_lowercase().replace('_', "-").as_str(),
                "utf-8" | "utf8"
            )
        {
            return Err(bad(format!(
                "`encoding: {enc}` is not supported: dr reads and writes utf-8 only"
            )));
        }
        let replace = match &spec.replace {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let compile = |p: &str, flags| TextRegex::text(p, flags).map_err(|e| bad(e.to_string()));
        let mre = compile(&spec.regexp, Flags::Multiline)?;
        let template = mre.template(&replace).map_err(|e| {
            ModuleError::Failed(format!("Unable to process replace due to error: {e}"))
        })?;
        let section_pattern = match (nonempty(&spec.after), nonempty(&spec.before)) {
            (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
            (None, None) => None,
        };

        let path = PathBuf::from(&spec.path);
        if path.is_dir() {
            return Err(ModuleError::Failed(format!(
                "Path {} is a directory !",
                spec.path
            )));
        }
        let Some(bytes) = read_current("replace", &path)? else {
            return Err(ModuleError::Failed(format!(
                "Path {} does not exist !",
                spec.path
            )));
        };
        let contents = String::from_utf8(bytes).map_err(|_| {
            ModuleError::Failed(format!(
                "`{}` is not valid utf-8; dr's `replace` edits utf-8 text only",
                spec.path
            ))
        })?;

        let (start, end) = match &section_pattern {
            None => (0, contents.len()),
            Some(p) => {
                let re = compile(p, Flags::DotAll)?;
                let found = re
                    .captures_at(&contents, 0)
                    .map_err(failed)?
                    .zip(re.group_index("subsection"))
                    .and_then(|(groups, i)| groups.get(i))
                    .map(|r| (r.start, r.end));
                match found {
                    Some(range) => range,
                    None => {
                        let mut out = Outcome::ok(format!(
                            "Pattern for before/after params did not match the given file: {p}"
                        ));
                        out.data.insert("rc".into(), Json::from(0));
                        return Ok(Plan::done(out));
                    }
                }
            }
        };
        let section = &contents[start..end];
        let (replaced, count) = mre.subn(&template, section).map_err(failed)?;
        let content_changes = count > 0 && replaced != section;
        let after = if content_changes {
            format!("{}{replaced}{}", &contents[..start], &contents[end..])
        } else {
            contents.clone()
        };
        let mut data = Map::new();
        data.insert("rc".into(), Json::from(0));
        let plan = FileWrite {
            module: "replace",
            path,
            before: Some(Before::Bytes(contents.into_bytes())),
            after: after.into_bytes().into(),
            attrs: AttrSpec {
                mode: spec.mode,
                owner: spec.owner,
                group: spec.group,
            },
            default_mode: 0o644,
            backup: spec.backup,
            data,
            create_parents: false,
            msg: None,
            validate: spec.validate,
            follow: true,
        }
        .plan()?;
        Ok(ansible_message(
            plan,
            content_changes.then(|| format!("{count} replacements made")),
        ))
    }
}

/// A pattern that could not finish matching fails the task.
fn failed(e: super::pyregex::PyRegexError) -> ModuleError {
    ModuleError::Failed(e.to_string())
}

/// Ansible tests `after`/`before` for truth: an empty string is absent.
fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
