//! Plays that need no connection to their host. Ansible runs `debug`, `assert`, `fail`,
//! `set_fact`, `meta` and the like on the controller without connecting (their action
//! plugins never send a module), so a play made only of them passes on a host that cannot
//! be reached. dr runs such a play's agent in-process on the controller, which is the same:
//! none of these tasks reads or changes the host.

use dr_agent::engine::controller_side;
use dr_agent::wire::{Request, Task, TaskKind};

/// Whether `request` runs without touching its host: no fact gathering, and every task
/// that `--tags`/`--skip-tags` let run, and the handlers when such a task notifies any, is
/// controller-side or delegated to the controller. A play whose tasks the tags all leave
/// out connects to nothing, as in Ansible (which still gathers facts: that task is
/// tagged `always`).
pub fn needs_no_connection(request: &Request) -> bool {
    let may_run = |t: &&Task| {
        t.kind != TaskKind::Module
            || t.tags.iter().any(|tag| tag.contains("{{"))
            || dr_agent::engine::tags::selected(&t.tags, &request.tags, &request.skip_tags)
    };
    let tasks: Vec<&Task> = request
        .play
        .tasks
        .iter()
        .flat_map(Task::walk)
        .filter(may_run)
        .collect();
    let notifies = tasks.iter().any(|t| !t.notify.is_empty());
    let handlers = request
        .play
        .handlers
        .iter()
        .flat_map(Task::walk)
        .filter(|_| notifies);
    tasks.into_iter().chain(handlers).all(controller_side)
}
