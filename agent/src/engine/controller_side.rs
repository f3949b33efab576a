//! Tasks Ansible runs on the controller alone: the action plugins of `debug`, `assert`,
//! `fail`, `set_fact`, `meta` and the like never send a module to the host, so they need no
//! connection to it. A play made only of them runs without one (the controller runs the
//! engine in process), and on a host that cannot be reached under `ignore_unreachable`
//! they still run while every other task is unreachable, as in Ansible.

use crate::wire::{Task, TaskKind};

/// Modules whose Ansible action runs on the controller alone.
const CONTROLLER_SIDE: &[&str] = &[
    "debug",
    crate::modules::protomatter_debug::NAME,
    "assert",
    "fail",
    "set_fact",
    "set_stats",
    "meta",
    "add_host",
    "group_by",
    "include_vars",
    "validate_argument_spec",
];

/// Whether `module`'s Ansible action runs on the controller alone.
pub(super) fn module_is(module: &str) -> bool {
    CONTROLLER_SIDE.contains(&module)
}

/// Whether `task` runs without its host: a block or include (its tasks decide), a
/// controller-side module (`meta: reset_connection` excepted), or a task delegated to the
/// controller.
pub fn controller_side(task: &Task) -> bool {
    match task.kind {
        TaskKind::Block | TaskKind::Include => true,
        TaskKind::Module => {
            let meta_on_host = task.meta_action() == Some("reset_connection");
            (CONTROLLER_SIDE.contains(&task.module.as_str()) && !meta_on_host)
                || matches!(task.delegate_to.as_deref(), Some("localhost" | "127.0.0.1"))
        }
    }
}
