//! `include_vars`: variables from files, set on the host for the rest of the play.
//!
//! Files live on the controller, so the controller reads them when it builds the request
//! (decrypting vault files, marking their values secret) and ships each as a JSON mapping
//! under [`file_key`] / [`dir_key`]; this module only picks what its rendered arguments
//! name and sets the variables.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `include_vars` module.
pub struct IncludeVars;

/// The key under which the controller ships the file `include_vars` names as `file`.
pub fn file_key(file: &str) -> String {
    format!("include_vars:file:{file}")
}

/// The key under which the controller ships the files of `dir` that the task's `args`
/// choose (`depth`, `extensions`, ... : two tasks may read one directory differently): a
/// JSON list of `[path, mapping]` in load order, or the error reading them is, as a JSON
/// string.
pub fn dir_key(dir: &str, args: &Json) -> String {
    let chosen: Vec<Option<&Json>> = SELECTION.iter().map(|k| args.get(k)).collect();
    format!(
        "include_vars:dir:{dir}:{}",
        serde_json::to_string(&chosen).unwrap_or_default()
    )
}

/// The arguments that choose which files of a `dir` are read.
const SELECTION: &[&str] = &[
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // `depth`, `files_matching`... are the controller's (see the module doc).
struct Args {
    file: Option<String>,
    #[serde(rename = "_raw_params")]
    raw: Option<String>,
    dir: Option<String>,
    name: Option<String>,
    // Read by the controller, which chooses the files it ships.
    #[serde(default)]
    depth: Option<Json>,
    #[serde(default)]
    files_matching: Option<Json>,
    #[serde(default)]
    ignore_files: Option<Json>,
    #[serde(default)]
    extensions: Option<Json>,
    #[serde(default)]
    ignore_unknown_extensions: Option<Json>,
    hash_behaviour: Option<String>,
}

/// Argument names, shared with the controller's parser.
pub const ARGS: &[&str] = &[
    "file",
    "_raw_params",
    "dir",
    "name",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
    "hash_behaviour",
    "free_form",
];

impl Module for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARGS
    }

    fn free_form(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let raw_args = args;
        let args: Args = match args {
            Json::String(s) => Args {
                file: None,
                raw: Some(s.trim().to_owned()),
                dir: None,
                name: None,
                depth: None,
                files_matching: None,
                ignore_files: None,
                extensions: None,
                ignore_unknown_extensions: None,
                hash_behaviour: None,
            },
            other => parse_args("include_vars", other)?,
        };
        let merge = match args.hash_behaviour.as_deref() {
            None | Some("replace") => false,
            Some("merge") => true,
            Some(other) => {
                return Err(ArgsError::new(
                    "include_vars",
                    format!("`hash_behaviour` must be `replace` or `merge`, got `{other}`"),
                )
                .into());
            }
        };
        let mut vars = Map::new();
        let mut loaded = Vec::new();
        let file = args.file.or(args.raw).filter(|f| !f.trim().is_empty());
        match (file, args.dir) {
            (Some(file), None) => match ctx.files.get(&file_key(&file)) {
                Some(shipped) => {
                    vars = mapping(
                        shipped.text().map_err(ModuleError::Failed)?,
                        &shipped.origin,
                    )?;
                    loaded.push(Json::from(shipped.origin.clone()));
                }
                // Not known before the run (written by an earlier task): the controller
                // reads it now.
                None => {
                    let (map, origin) = asked(ctx, &file)?;
                    vars = map;
                    loaded.push(Json::from(origin));
                }
            },
            (None, Some(dir)) => {
                let read = match ctx.files.get(&dir_key(&dir, raw_args)) {
                    Some(shipped) => {
                        serde_json::from_str::<Json>(shipped.text().map_err(ModuleError::Failed)?)
                            .map_err(|e| {
                            ModuleError::Failed(format!("bug in dr: shipped `{dir}`: {e}"))
                        })?
                    }
                    // Not there before the run (made by an earlier task): the controller
                    // reads it now.
                    None => asked_dir(ctx, &dir)?,
                };
                if let Json::String(error) = read {
                    return Ok(Plan::done(failed(error)));
                }
                let files: Vec<(String, Json)> = serde_json::from_value(read)
                    .map_err(|e| ModuleError::Failed(format!("bug in dr: shipped `{dir}`: {e}")))?;
                for (path, value) in files {
                    if let Json::Object(m) = value {
                        vars.extend(m);
                    }
                    loaded.push(Json::from(path));
                }
            }
            (Some(_), Some(_)) => {
                return Err(ArgsError::new(
                    "include_vars",
                    "`file` and `dir` are mutually exclusive",
                )
                .into());
            }
            (None, None) => {
                // As Ansible's action, for a file name that is empty (a `first_found` with
                // `errors='ignore'` that found nothing) or not given.
                return Ok(Plan::done(failed(
                    "Could not find file on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option".to_owned(),
                )));
            }
        }
        if merge {
            // As Ansible: the variables already set are merged into, recursively.
            for (k, v) in vars.iter_mut() {
                if let Ok(existing @ Json::Object(_)) = ctx.scope.eval(k)
                    && v.is_object()
                    && let Ok(merged) =
                        crate::template::filters::merge_hash(&existing, v, true, "replace")
                {
                    *v = merged;
                }
            }
        }
        let facts = match args.name {
            Some(name) => {
                let mut m = Map::new();
                m.insert(name, Json::Object(vars));
                m
            }
            None => vars,
        };
        let mut outcome = Outcome {
            facts: facts.clone(),
            ..Outcome::default()
        };
        outcome
            .data
            .insert("ansible_facts".into(), Json::Object(facts));
        outcome
            .data
            .insert("ansible_included_var_files".into(), Json::Array(loaded));
        Ok(Plan::done(outcome))
    }
}

/// A failure as Ansible's action reports it: the reason in `message`.
fn failed(error: String) -> Outcome {
    let mut outcome = Outcome {
        failed: true,
        msg: error.clone(),
        ..Outcome::default()
    };
    outcome.data.insert("message".into(), Json::from(error));
    outcome
}

fn mapping(data: &str, origin: &str) -> Result<Map<String, Json>, ModuleError> {
    match serde_json::from_str(data) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(Json::Null) => Ok(Map::new()),
        _ => Err(ModuleError::Failed(format!(
            "{origin} must be stored as a dictionary/hash"
        ))),
    }
}

/// The variables and path of `file`, read by the controller while the play runs.
fn asked(ctx: &Context<'_>, file: &str) -> Result<(Map<String, Json>, String), ModuleError> {
    use crate::template::lookup::NoFile;
    let missing = || ModuleError::Failed(format!("Could not find or access '{file}'"));
    let table = ctx.controller.ok_or_else(missing)?;
    match table.controller_file("vars", file) {
        Ok(values) => match values.as_slice() {
            [Json::Object(map), Json::String(origin)] => Ok((map.clone(), origin.clone())),
            _ => Err(missing()),
        },
        Err(NoFile::Pending(msg)) => Err(ModuleError::Failed(format!(
            "Could not find or access '{file}' ({msg})"
        ))),
        Err(NoFile::Failed(msg)) => Err(ModuleError::Failed(msg)),
    }
}

/// What `include_vars: dir=` loads from `dir`, asked of the controller while the play runs.
fn asked_dir(ctx: &Context<'_>, dir: &str) -> Result<Json, ModuleError> {
    use crate::template::lookup::NoFile;
    let missing = || ModuleError::Failed(format!("{dir} directory does not exist"));
    let table = ctx.controller.ok_or_else(missing)?;
    match table.controller_file("vars_dir", dir) {
        Ok(mut values) if values.len() == 1 => Ok(values.remove(0)),
        Ok(_) => Err(missing()),
        Err(NoFile::Pending(msg)) => Err(ModuleError::Failed(format!(
            "{dir} directory does not exist ({msg})"
        ))),
        Err(NoFile::Failed(msg)) => Err(ModuleError::Failed(msg)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::wire::{Event, Request, Status};

    fn run(mode: &str) -> Vec<Event> {
        let request: Request = serde_json::from_value(json!({
            "protocol": 1, "host": "h", "mode": mode, "diff": true,
            "play": {"name": "p", "tasks": [
                {"module": "include_vars", "args": "main.yml", "location": "p:1:1"},
                {"module": "include_vars", "args": {"dir": "d", "name": "bag"}, "location": "p:2:1"},
                {"module": "include_vars", "args": "missing.yml", "location": "p:3:1", "ignore_errors": true},
                {"module": "debug", "args": {"msg": "{{ a }} {{ bag.b }} {{ bag.c }}"}, "location": "p:4:1"},
            ]},
            "vars": {},
            "files": {
                "include_vars:file:main.yml": {"data": "{\"a\": 1}", "origin": "vars/main.yml"},
                super::dir_key("d", &json!({"dir": "d", "name": "bag"})): {"data": "[[\"d/1.yml\", {\"b\": 2, \"c\": 0}], [\"d/2.yml\", {\"c\": 3}]]", "origin": "d"},
            },
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        crate::engine::run(&request, &mut |e| out.push(e));
        out
    }

    #[test]
    fn sets_variables_never_changes_and_says_what_is_missing() {
        for mode in ["apply", "check", "apply"] {
            let ev = run(mode);
            let statuses: Vec<(Status, String)> = ev
                .iter()
                .filter_map(|e| match e {
                    Event::TaskResult { status, msg, .. } => Some((*status, msg.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(statuses[0].0, Status::Ok, "{mode}");
            assert_eq!(statuses[1].0, Status::Ok, "{mode}");
            assert_eq!(statuses[2].0, Status::Failed);
            assert!(
                statuses[2]
                    .1
                    .contains("Could not find or access 'missing.yml'")
            );
            assert!(
                ev.iter()
                    .any(|e| matches!(e, Event::Message { text } if text == "1 2 3"))
            );
        }
    }
}
