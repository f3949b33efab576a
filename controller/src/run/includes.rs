//! Templated `include_tasks` file names, resolved per host when its request is built.
//!
//! dr reads included files on the controller (the request carries every task), so a file
//! name that is a template is rendered here with the host's variables (inventory, play,
//! role and extra vars) for each literal loop item; each file it names becomes a child
//! block of the include, and the agent runs the one the name renders to then. A name that
//! does not render here (it reads facts, such as `{{ ansible_os_family }}.yml`) ships
//! every file its pattern can match (`*.yml` in that directory); one that names a file
//! outside them fails on the host with a message saying so.

use dr_agent::template::Templater;
use dr_agent::wire::{Task, TaskKind};
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::playbook::PlaySpec;
use crate::playbook::tasks::{Builder, DYNAMIC_KEY, DynamicInclude};

const MAX_DEPTH: usize = 16;

/// Fills the templated includes of `tasks` (a copy of `play`'s) for a host with `vars`.
pub fn resolve(
    play: &PlaySpec,
    tasks: &mut [Task],
    vars: &Map<String, Value>,
) -> Result<(), Diagnostic> {
    resolve_in(play, &play.dynamic_includes, tasks, vars, 0)
}

fn resolve_in(
    play: &PlaySpec,
    dynamic: &[DynamicInclude],
    tasks: &mut [Task],
    vars: &Map<String, Value>,
    depth: usize,
) -> Result<(), Diagnostic> {
    for task in tasks {
        let index = task
            .args
            .get(DYNAMIC_KEY)
            .and_then(Value::as_u64)
            .and_then(|i| dynamic.get(i as usize));
        if let (Some(include), Some(_)) = (index, &task.include_file) {
            if depth >= MAX_DEPTH {
                return Err(Diagnostic::new(
                    include.loc.clone(),
                    "includes are nested too deeply (an include loop?)",
                ));
            }
            task.block = choices(play, include, task, vars, depth)?;
            continue;
        }
        for list in [&mut task.block, &mut task.rescue, &mut task.always] {
            resolve_in(play, dynamic, list, vars, depth)?;
        }
    }
    Ok(())
}

/// One child block per file the include's name renders to for this host.
fn choices(
    play: &PlaySpec,
    include: &DynamicInclude,
    node: &Task,
    vars: &Map<String, Value>,
    depth: usize,
) -> Result<Vec<Task>, Diagnostic> {
    let templater = Templater::new();
    let loop_var = node.loop_var.clone().unwrap_or_else(|| "item".into());
    let items: Vec<Option<Value>> = match &node.loop_ {
        Some(Value::Array(items)) => items.iter().cloned().map(Some).collect(),
        _ => vec![None],
    };
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let mut scope_vars = vars.clone();
        scope_vars.extend(node.vars.clone());
        if let Some(item) = item {
            scope_vars.insert(loop_var.clone(), item);
        }
        let rendered = templater.scope(scope_vars).render_string(&include.template);
        // An undefined fact may render as empty text rather than fail: a name that finds
        // no file is read as a pattern too.
        let exists = |name: &String| {
            Builder::new(&play.role_search, &play.dir)
                .find_task_file(name, &include.dir, &include.inherit)
                .is_some()
        };
        let found = match rendered {
            Ok(name) if !name.is_empty() && !name.contains("{{") && exists(&name) => vec![name],
            _ => pattern_matches(play, include),
        };
        for name in found {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut out = Vec::new();
    for name in names {
        let mut builder = Builder::new(&play.role_search, &play.dir);
        let Some(path) = builder.find_task_file(&name, &include.dir, &include.inherit) else {
            continue;
        };
        let mut tasks = builder.read_task_file(&path, &include.inherit)?;
        if !builder.role_handlers.is_empty()
            || !builder.role_defaults.is_empty()
            || !builder.role_vars.is_empty()
        {
            return Err(Diagnostic::new(
                include.loc.clone(),
                format!("`{name}`, included by a templated name, loads roles with handlers or variables; dr does not support that yet"),
            )
            .with_help("import the role in the play instead"));
        }
        resolve_in(play, &builder.dynamic, &mut tasks, vars, depth + 1)?;
        out.push(Task {
            name: Some(name),
            module: "block".into(),
            kind: TaskKind::Block,
            location: include.loc.to_string(),
            block: tasks,
            ..Task::default()
        });
    }
    Ok(out)
}

/// The files a name that cannot be rendered yet may name: each `{{ ... }}` of its last
/// path component read as a wildcard, the directories before it literal, looked up where
/// the include would find them.
fn pattern_matches(play: &PlaySpec, include: &DynamicInclude) -> Vec<String> {
    static EXPR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{\{.*?\}\}").expect("static regex is valid")
    });
    let (dir_part, file_part) = match include.template.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, include.template.as_str()),
    };
    if dir_part.is_some_and(|d| d.contains("{{")) {
        return Vec::new();
    }
    let literal: Vec<String> = EXPR.split(file_part).map(regex::escape).collect();
    let Ok(matcher) = regex::Regex::new(&format!("^{}$", literal.join(".+"))) else {
        return Vec::new();
    };
    let mut bases = vec![include.dir.clone()];
    if let Some(role) = &include.inherit.role {
        bases.push(role.path.join("tasks"));
    }
    bases.push(play.dir.clone());
    let mut out = Vec::new();
    for base in bases {
        let dir = dir_part.map_or(base.clone(), |d| base.join(d));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|f| matcher.is_match(f))
            .map(|f| dir_part.map_or(f.clone(), |d| format!("{d}/{f}")))
            .filter(|f| !out.contains(f))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}
