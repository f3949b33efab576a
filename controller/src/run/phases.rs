//! A run in phases: the plays after one that changes the inventory (`add_host`,
//! `group_by`) choose their hosts from the inventory as the run left it, as Ansible's do.
//! Each phase runs the DAG so far; then the next plays get their hosts and nodes, and the
//! run goes on with the same journal, output and facts (`docs/cross-host.md`).

use std::sync::Arc;

use dr_agent::wire::Task;
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::event::{Outcome, Stamped};
use super::node::NodeJob;
use super::scheduler;
use crate::dag;
use crate::diagnostic::Diagnostic;
use crate::playbook::{PlaySpec, Playbook};
use crate::transport::{StopLevel, StopWatch};

/// The plays (indices) whose hosts wait for the run: each one right after a play that
/// changes the inventory, but the last play.
pub fn boundaries(plays: &[PlaySpec]) -> Vec<usize> {
    (1..plays.len())
        .filter(|&b| changes_inventory(&plays[b - 1]))
        .collect()
}

/// Whether `play` has an `add_host`, `group_by` or `meta: refresh_inventory` task.
pub(super) fn changes_inventory(play: &PlaySpec) -> bool {
    play.tasks
        .iter()
        .chain(&play.handlers)
        .flat_map(Task::walk)
        .any(|t| {
            matches!(t.module.as_str(), "add_host" | "group_by")
                || t.meta_action() == Some("refresh_inventory")
        })
}

/// What choosing the later plays' hosts needs.
pub struct Extend<'a> {
    /// The playbooks.
    pub books: &'a [Playbook],
    /// `--limit`.
    pub limit: Option<&'a str>,
    /// Extra vars (`-e`), for templated `hosts:`.
    pub extra: Map<String, Value>,
    /// Every play, in order.
    pub plays: &'a [PlaySpec],
    /// What a `hosts:` term that matches nothing does.
    pub mismatch: dag::Mismatch,
}

/// Runs every phase; returns each node's outcome, and the error that stopped the run
/// between phases, if one did.
pub async fn run_all(
    job: &Arc<NodeJob>,
    boundaries: &[usize],
    ext: Extend<'_>,
    forks: usize,
    sink: UnboundedSender<Stamped>,
    stop: StopWatch,
) -> (Vec<Outcome>, Option<Diagnostic>) {
    let mut outcomes = Vec::new();
    // One pass per boundary, then the last phase.
    let passes = boundaries
        .iter()
        .copied()
        .enumerate()
        .map(Some)
        .chain([None]);
    for pass in passes {
        let phase = job.phase();
        outcomes = scheduler::execute(
            &phase.dag,
            job.clone(),
            forks,
            sink.clone(),
            stop.clone(),
            outcomes,
            // No later phase gives a host more nodes: its connection goes when it is done.
            pass.is_none(),
        )
        .await;
        let Some((k, first)) = pass else { break };
        if *stop.borrow() != StopLevel::Run {
            break;
        }
        let until = boundaries.get(k + 1).copied().unwrap_or(ext.plays.len());
        let inventory = job
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| job.inventory.clone());
        // The next phase's DAG: this one extended (the only copy made).
        let mut dag = phase.dag.clone();
        drop(phase);
        let how = dag::HostSelection {
            limit: ext.limit,
            extra: &ext.extra,
            mismatch: ext.mismatch,
        };
        if let Err(e) = dag::extend(&mut dag, ext.books, &inventory, &how, first..until) {
            return (outcomes, Some(e));
        }
        dag::annotate_sync_points(&mut dag, ext.plays, |p| job.vars.reading_hostvars(p));
        job.set_phase(dag);
    }
    (outcomes, None)
}
