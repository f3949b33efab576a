//! Where each play's hosts will wait for each other or for another host (`docs/cross-host.md`),
//! as `dr graph` and `dr plan` show them: the cost of cross-host data, visible before a run.

use std::collections::HashSet;

use dr_agent::wire::{Task, TaskKind, Throttle};

use super::Dag;
use crate::playbook::PlaySpec;

/// One sync point of a play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPointInfo {
    /// The task's location (`file:line:col`).
    pub at: String,
    /// What it waits for: `reads other hosts' data`, `run_once`, `delegate_to <host>`,
    /// `throttle 2`.
    pub what: String,
}

/// Fills each play's sync points; `reading` gives the variables that read other hosts'
/// variables for a play. Tasks of templated includes resolved per host are not known
/// before the run, nor the template sources a `template` task reads.
pub fn annotate(dag: &mut Dag, plays: &[PlaySpec], reading: impl Fn(&PlaySpec) -> HashSet<String>) {
    for (info, play) in dag.plays.iter_mut().zip(plays) {
        if info.hosts.is_empty() {
            continue;
        }
        let mut tasks = play.tasks.clone();
        crate::run::mark_sync(&mut tasks, &reading(play));
        let mut points = Vec::new();
        if let Some(pct) = play.max_fail_percentage {
            points.push(SyncPointInfo {
                at: play.loc.to_string(),
                what: format!("every task (max_fail_percentage: {pct})"),
            });
        }
        collect(&tasks, &mut points);
        info.sync_points = points;
    }
}

fn collect(tasks: &[Task], out: &mut Vec<SyncPointInfo>) {
    for task in tasks {
        let mut add = |what: String| {
            out.push(SyncPointInfo {
                at: task.location.clone(),
                what,
            })
        };
        if task.sync {
            add("reads other hosts' data".into());
        }
        if task.kind == TaskKind::Module && task.run_once {
            add("run_once".into());
        }
        if let Some(template) = &task.run_once_template {
            add(format!("run_once if `{template}` is true"));
        }
        if let Some(to) = &task.delegate_to {
            add(format!("delegate_to {to}"));
        }
        let throttled =
            task.kind == TaskKind::Module && !task.run_once && task.meta_action().is_none();
        match &task.throttle {
            Some(Throttle::Limit(n)) if throttled && *n > 0 => add(format!("throttle {n}")),
            Some(Throttle::Template(t)) if throttled => add(format!("throttle `{t}`")),
            _ => {}
        }
        if task.kind == TaskKind::Module && task.any_errors_fatal {
            add("any_errors_fatal".into());
        }
        if let Some(action @ ("end_play" | "end_batch" | "clear_host_errors")) = task.meta_action()
        {
            add(format!("meta: {action}"));
        }
        collect(&task.block, out);
        collect(&task.rescue, out);
        collect(&task.always, out);
    }
}
