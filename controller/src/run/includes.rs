//! Templated `include_tasks` file names, resolved per host when its request is built.
//!
//! dr reads included files on the controller (the request carries every task), so a file
//! name that is a template is rendered here with the host's variables (inventory, play,
//! role and extra vars) for each literal loop item; each file it names becomes a child
//! block of the include, and the agent runs the one the name renders to then. A name that
//! does not render here (it reads facts, such as `{{ ansible_os_family }}.yml`) ships
//! every file its pattern can match (`*.yml` in that directory); one that names a file
//! outside them fails on the host with a message saying so.

use std::path::{Path, PathBuf};

use dr_agent::wire::{Task, TaskKind};
use serde_json::Value;

use super::render_vars::RenderVars;
use crate::diagnostic::Diagnostic;
use crate::playbook::PlaySpec;
use crate::playbook::tasks::{Builder, DYNAMIC_KEY, DynamicInclude, fails_with};

const MAX_DEPTH: usize = 16;

/// Fills the templated includes of `tasks` (a copy of `play`'s) for a host with `vars`.
pub fn resolve(play: &PlaySpec, tasks: &mut [Task], vars: &RenderVars) -> Result<(), Diagnostic> {
    resolve_in(play, &play.dynamic_includes, tasks, vars, &[])
}

fn resolve_in(
    play: &PlaySpec,
    dynamic: &[DynamicInclude],
    tasks: &mut [Task],
    vars: &RenderVars,
    stack: &[PathBuf],
) -> Result<(), Diagnostic> {
    for task in tasks {
        let index = task
            .args
            .get(DYNAMIC_KEY)
            .and_then(Value::as_u64)
            .and_then(|i| dynamic.get(i as usize));
        if let (Some(include), Some(_)) = (index, &task.include_file) {
            if stack.len() >= MAX_DEPTH {
                return Err(Diagnostic::new(
                    include.loc.clone(),
                    "includes are nested too deeply (an include loop?)",
                ));
            }
            task.block = choices(play, include, task, vars, stack)?;
            continue;
        }
        for list in [&mut task.block, &mut task.rescue, &mut task.always] {
            resolve_in(play, dynamic, list, vars, stack)?;
        }
    }
    Ok(())
}

/// One child block per file the include's name renders to for this host. `stack` holds the
/// files being included around it: a name read as a pattern does not take them (a file
/// matching its own include's pattern is not a candidate, or every such include would
/// loop).
fn choices(
    play: &PlaySpec,
    include: &DynamicInclude,
    node: &Task,
    vars: &RenderVars,
    stack: &[PathBuf],
) -> Result<Vec<Task>, Diagnostic> {
    let exists = |name: &String| {
        let builder = Builder::new(&play.role_search, &play.dir);
        match include.role {
            Some(_) => builder.find_role(name, &include.loc).is_some(),
            None => builder
                .find_task_file(name, &include.dir, &include.inherit)
                .is_some(),
        }
    };
    let mut names: Vec<(String, bool)> = Vec::new();
    for name in super::candidates::rendered(&include.template, node, vars.get()) {
        // An undefined fact may render as empty text rather than fail: a name that finds
        // no file is read as a pattern too.
        let found = match name {
            Some(name) if exists(&name) => vec![(name, true)],
            // A role name that does not render here is not guessed at.
            _ if include.role.is_some() => Vec::new(),
            _ => {
                let mut bases = vec![include.dir.clone()];
                if let Some(role) = &include.inherit.role {
                    bases.push(role.path.join("tasks"));
                }
                bases.push(play.dir.clone());
                super::candidates::pattern_matches(&include.template, &bases)
                    .into_iter()
                    .map(|n| (n, false))
                    .collect()
            }
        };
        for name in found {
            if !names.iter().any(|(n, _)| *n == name.0) {
                names.push(name);
            }
        }
    }
    let mut stack = stack.to_vec();
    stack.extend(canonical(Path::new(&*include.loc.file)));
    let mut out = Vec::new();
    for (name, rendered) in names {
        let mut builder = Builder::new(&play.role_search, &play.dir);
        if include.role.is_some() {
            let mut tasks = builder.included_role(&name, include)?;
            plain_role(&builder, &name, include)?;
            resolve_in(play, &builder.dynamic, &mut tasks, vars, &stack)?;
            out.push(child(name, include, tasks));
            continue;
        }
        let Some(path) = builder.find_task_file(&name, &include.dir, &include.inherit) else {
            continue;
        };
        let path = canonical(&path).unwrap_or(path);
        if !rendered && stack.contains(&path) {
            continue;
        }
        // A file only a pattern named may be one this host never includes (`windows.yml`
        // beside `default.yml`): if it cannot load, it fails where it is included.
        let mut tasks = match builder.read_task_file(&path, &include.inherit) {
            Ok(tasks) => tasks,
            Err(e) if !rendered => vec![fails_with("include_tasks", &e, &include.loc)],
            Err(e) => return Err(e),
        };
        plain_role(&builder, &name, include)?;
        stack.push(path);
        let inner = resolve_in(play, &builder.dynamic, &mut tasks, vars, &stack);
        stack.pop();
        inner?;
        out.push(child(name, include, tasks));
    }
    Ok(out)
}

/// The child block of a templated include for the file or role `name`.
fn child(name: String, include: &DynamicInclude, tasks: Vec<Task>) -> Task {
    Task {
        name: Some(name),
        module: "block".into(),
        kind: TaskKind::Block,
        location: include.loc.to_string(),
        block: tasks,
        ..Task::default()
    }
}

/// What a templated include loaded brings no handlers or role defaults: those are the
/// play's, known before the run, and dr does not add them per host yet. Role variables
/// are fine: the role's tasks carry them, and an included role's are not the play's.
fn plain_role(
    builder: &Builder<'_>,
    name: &str,
    include: &DynamicInclude,
) -> Result<(), Diagnostic> {
    if builder.role_handlers.is_empty()
        && builder.included_handlers.is_empty()
        && builder.role_defaults.is_empty()
    {
        return Ok(());
    }
    Err(Diagnostic::new(
        include.loc.clone(),
        format!("`{name}`, included by a templated name, loads roles with handlers or defaults; dr does not support that yet"),
    )
    .with_help("import the role in the play instead"))
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}
