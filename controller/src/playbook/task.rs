//! Parsing one task (or handler) mapping into the wire form the agent runs.

use std::path::Path;

use dr_agent::wire::Task;
use serde_json::{Map, Value};

use super::modules::{self, Known};
use super::scalar::{bool_of, string_list, text_of};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::Node;

/// Task keywords (everything in a task mapping that is not the module).
pub const KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "retries",
    "until",
    "delay",
    "no_log",
    "tags",
    "check_mode",
    "delegate_to",
    "become",
    "become_user",
    "vars",
    "environment",
    "args",
    "run_once",
    "diff",
    "timeout",
];

/// The condition `run_once: true` becomes: only the first host of the play runs the task
/// (registered results are not copied to the other hosts, unlike Ansible).
pub const RUN_ONCE: &str = "inventory_hostname == ansible_play_hosts[0]";

/// Block keywords that dr does not run yet; named so the error can say so.
const UNSUPPORTED: &[&str] = &[
    "block",
    "rescue",
    "always",
    "include_role",
    "import_role",
    "local_action",
    "action",
];

/// A task mapping, split into the module call and the keywords, or an import to expand.
pub enum Parsed {
    /// A task to run.
    Task(Box<Task>),
    /// `import_tasks`/`include_tasks`: the file and the keywords that apply to its tasks.
    Import {
        /// The file as written.
        file: String,
        /// The import task itself (its `when`, `tags`, `vars` are inherited).
        inherit: Box<Task>,
        /// Where the import is.
        node: Node,
    },
}

/// Parses one task mapping.
pub fn parse(node: &Node, _dir: &Path) -> Result<Parsed, Diagnostic> {
    let entries = node.as_map().ok_or_else(|| {
        Diagnostic::new(
            node.loc.clone(),
            format!("a task must be a mapping, found {}", node.kind()),
        )
        .with_help("write a task as `- name: ...` followed by one module, e.g. `copy: {...}`")
    })?;
    let mut task = Task {
        location: node.loc.to_string(),
        ..Task::default()
    };
    let mut module: Option<(&Node, &Node)> = None;
    let mut extra_args: Option<&Node> = None;
    for (key, value) in entries {
        let k = key.scalar_text().unwrap_or_default();
        if KEYWORDS.contains(&k.as_str()) {
            if k == "args" {
                extra_args = Some(value);
            } else {
                apply_keyword(&mut task, &k, key, value)?;
            }
            continue;
        }
        if UNSUPPORTED.contains(&k.as_str()) {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!("`{k}` is not supported by dr yet"),
            )
            .with_help("list the tasks directly, or move them to a file and use `import_tasks`"));
        }
        let canon = modules::canonical(&k);
        if !modules::IMPORTS.contains(&canon) && modules::lookup(canon).is_none() {
            return Err(unknown_module(key, &k));
        }
        if let Some((first, _)) = module {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!(
                    "a task has one module, but this one has `{}` and `{k}`",
                    first.scalar_text().unwrap_or_default()
                ),
            )
            .with_related(first.loc.clone(), "first module here")
            .with_help("split them into two tasks"));
        }
        module = Some((key, value));
    }
    let Some((key, value)) = module else {
        return Err(
            Diagnostic::new(node.loc.clone(), "this task names no module")
                .with_help("add one module key, e.g. `command: /usr/bin/true`"),
        );
    };
    let written = key.scalar_text().unwrap_or_default();
    let name = modules::canonical(&written);
    if modules::IMPORTS.contains(&name) {
        let file = import_file(value)?;
        return Ok(Parsed::Import {
            file,
            inherit: Box::new(task),
            node: key.clone(),
        });
    }
    let known = modules::lookup(name).ok_or_else(|| unknown_module(key, &written))?;
    let mut args = module_args(&known, value)?;
    if let Some(extra) = extra_args {
        merge_args(&mut args, extra)?;
    }
    if let Known::Module {
        name: m,
        args: accepted,
        ..
    } = &known
    {
        check_arg_names(m, accepted, &args, value)?;
    }
    task.module = name.to_owned();
    task.args = args;
    Ok(Parsed::Task(Box::new(task)))
}

fn unknown_module(key: &Node, written: &str) -> Diagnostic {
    let help = did_you_mean(
        written,
        modules::all_names().chain(KEYWORDS.iter().copied()),
    )
    .unwrap_or_else(|| "run `dr modules` to list the modules dr knows".into());
    Diagnostic::new(
        key.loc.clone(),
        format!("unknown module or keyword `{written}`"),
    )
    .with_help(help)
}

fn apply_keyword(task: &mut Task, k: &str, key: &Node, v: &Node) -> Result<(), Diagnostic> {
    match k {
        "name" => task.name = Some(text_of(v, "name")?),
        "when" => task.when.extend(conditions(v)?),
        "changed_when" => task.changed_when = conditions(v)?,
        "failed_when" => task.failed_when = conditions(v)?,
        "until" => task.until = Some(text_of(v, "until")?),
        "loop" | "with_items" | "with_list" => {
            task.loop_ = Some(v.to_json());
            // `with_items` flattens one level of nested lists; `loop` does not.
            task.loop_flatten = k == "with_items";
        }
        "loop_control" => {
            let control = v.to_json();
            task.loop_var = control
                .get("loop_var")
                .and_then(Value::as_str)
                .map(str::to_owned);
            task.loop_label = control
                .get("label")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        "register" => task.register = Some(text_of(v, "register")?),
        "notify" => task.notify = string_list(v, "notify")?,
        "listen" => task.listen = string_list(v, "listen")?,
        "tags" => task.tags = string_list(v, "tags")?,
        "ignore_errors" => task.ignore_errors = bool_of(v, "ignore_errors")?,
        "no_log" => task.no_log = bool_of(v, "no_log")?,
        "check_mode" => task.check_mode = Some(bool_of(v, "check_mode")?),
        "retries" => task.retries = Some(number(v, "retries")? as u32),
        "delay" => task.delay = Some(number(v, "delay")?),
        "vars" => task.vars = object(v, "vars")?,
        "environment" => task.environment = object(v, "environment")?,
        "delegate_to" => {
            let target = text_of(v, "delegate_to")?;
            if target.replace(' ', "") != "{{inventory_hostname}}" {
                return Err(Diagnostic::new(key.loc.clone(), format!("`delegate_to: {target}` is not supported by dr yet"))
                    .with_help("dr runs a play's tasks on the play's hosts; move the task to a play with `hosts: <target>` and order it with `after:`"));
            }
        }
        "run_once" => {
            if bool_of(v, "run_once")? {
                task.when.insert(0, RUN_ONCE.to_owned());
            }
        }
        "timeout" => task.timeout = Some(number(v, "timeout")?),
        // Privilege escalation is per play (the agent runs under `sudo -n`); accepted here.
        "become" | "become_user" | "diff" => {}
        _ => {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!("keyword `{k}` is not handled (this is a bug in dr)"),
            ));
        }
    }
    Ok(())
}

fn conditions(v: &Node) -> Result<Vec<String>, Diagnostic> {
    match v.as_seq() {
        Some(items) => items.iter().map(|i| text_of(i, "condition")).collect(),
        None => Ok(vec![text_of(v, "condition")?]),
    }
}

fn number(v: &Node, what: &str) -> Result<f64, Diagnostic> {
    match v.to_json() {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`{what}` must be a non-negative number, found {}", v.kind()),
        )
    })
}

fn object(v: &Node, what: &str) -> Result<Map<String, Value>, Diagnostic> {
    match v.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Diagnostic::new(
            v.loc.clone(),
            format!("`{what}` must be a mapping, found {}", v.kind()),
        )),
    }
}

fn import_file(v: &Node) -> Result<String, Diagnostic> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_owned());
    }
    v.to_json()
        .get("file")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Diagnostic::new(
                v.loc.clone(),
                "an import names a file: `import_tasks: tasks/db.yml`",
            )
        })
}

/// Module arguments: a mapping as is; a string kept for free-form modules, else parsed as
/// Ansible's `key=value key2="a b"` short form.
fn module_args(known: &Known, v: &Node) -> Result<Value, Diagnostic> {
    let free_form = matches!(
        known,
        Known::Module {
            free_form: true,
            ..
        }
    );
    match v.to_json() {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::String(s) if free_form => Ok(Value::String(s)),
        Value::String(s) => super::kv::parse(&s)
            .map(Value::Object)
            .map_err(|m| Diagnostic::new(v.loc.clone(), m)),
        obj @ Value::Object(_) => Ok(obj),
        _ => Err(Diagnostic::new(
            v.loc.clone(),
            format!("module arguments must be a mapping, found {}", v.kind()),
        )),
    }
}

fn merge_args(args: &mut Value, extra: &Node) -> Result<(), Diagnostic> {
    let Value::Object(more) = extra.to_json() else {
        return Err(Diagnostic::new(
            extra.loc.clone(),
            "`args` must be a mapping",
        ));
    };
    match args {
        Value::Object(map) => map.extend(more),
        Value::String(cmd) => {
            let mut map = more;
            map.insert("cmd".into(), Value::String(std::mem::take(cmd)));
            *args = Value::Object(map);
        }
        _ => {}
    }
    Ok(())
}

fn check_arg_names(
    module: &str,
    accepted: &[&str],
    args: &Value,
    node: &Node,
) -> Result<(), Diagnostic> {
    let Value::Object(map) = args else {
        return Ok(());
    };
    if accepted.is_empty() {
        // Modules such as `set_fact` take any keys.
        return Ok(());
    }
    for name in map.keys() {
        if accepted.contains(&name.as_str()) {
            continue;
        }
        let loc = node
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(name)))
            .map_or(node.loc.clone(), |(k, _)| k.loc.clone());
        let help = did_you_mean(name, accepted.iter().copied())
            .unwrap_or_else(|| format!("`{module}` accepts: {}", accepted.join(", ")));
        return Err(
            Diagnostic::new(loc, format!("module `{module}` has no argument `{name}`"))
                .with_help(help),
        );
    }
    Ok(())
}
