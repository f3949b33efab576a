//! `--start-at-task`, as ansible-playbook has it: the run starts at the first task whose
//! name matches (exactly, or as a shell pattern, against its name or its `role : name`).
//! Plays before it run nothing (not even fact gathering); in its play, the tasks before it
//! are left out (fact gathering stays); the plays after it run whole. Tasks inside
//! dynamic includes cannot be matched (Ansible follows static includes only).

use dr_agent::wire::{Task, TaskKind};
use glob::Pattern;

use super::Playbook;

/// Why `--start-at-task` cannot be followed.
#[derive(Debug, thiserror::Error)]
#[error("No matching task \"{0}\" found. Note: --start-at-task can only follow static includes.")]
pub struct NoMatch(pub String);

/// Leaves out what runs before the first task named `start`.
pub fn apply(books: &mut [Playbook], start: &str) -> Result<(), NoMatch> {
    let pattern = Pattern::new(start).ok();
    let matches = |task: &Task| {
        // An unnamed task is known by its action, as in Ansible.
        let name = task.name.as_deref().unwrap_or(&task.module);
        let full = match task.vars.get("role_name").and_then(|r| r.as_str()) {
            Some(role) => format!("{role} : {name}"),
            None => name.to_owned(),
        };
        name == start
            || pattern
                .as_ref()
                .is_some_and(|p| p.matches(name) || p.matches(&full))
    };
    for play in books.iter_mut().flat_map(|b| b.plays.iter_mut()) {
        if drop_until(&mut play.tasks, &matches) {
            return Ok(());
        }
        play.tasks.clear();
    }
    Err(NoMatch(start.to_owned()))
}

/// Drops the tasks before the first that `matches` (depth first, into blocks, not into
/// includes), keeping fact gathering and the implicit handler flushes; `true` when found.
fn drop_until(tasks: &mut Vec<Task>, matches: &dyn Fn(&Task) -> bool) -> bool {
    for i in 0..tasks.len() {
        let task = &mut tasks[i];
        let found = (!task.implicit && !gathers_facts(task) && matches(task))
            || (task.kind == TaskKind::Block && drop_until(&mut task.block, matches));
        if found {
            let mut at = 0;
            tasks.retain(|t| {
                let keep = at >= i || t.implicit || gathers_facts(t);
                at += 1;
                keep
            });
            return true;
        }
    }
    false
}

/// The play's own fact gathering (not a `setup` task of the user's).
fn gathers_facts(task: &Task) -> bool {
    task.module == "setup"
        && task.name.as_deref() == Some("Gathering Facts")
        && task.tags == ["always"]
}
