//! Whether a node whose dependencies have all ended may run.
//!
//! Plays ordered as ansible-playbook orders them (no `after:`) follow its rules: a host
//! that failed (or could not be reached) leaves the rest of the run, the other hosts go on;
//! when every host of a batch failed, the rest of that playbook does not run; after a
//! playbook that had a failed host, no further playbook runs. `meta: clear_host_errors`
//! takes a failure back, as in Ansible. A play that names what it waits for (`after:`,
//! dr's extension) runs only where every node of those plays succeeded: the DR order
//! (database, then what depends on it) is strict.

use std::collections::BTreeMap;

use super::event::Outcome;
use crate::dag::Dag;

/// What a node does once its dependencies have ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// It runs.
    Run,
    /// It does not run, for this reason.
    Skip(String),
    /// The run was stopped before it.
    Interrupted,
}

/// What the gate reads of the run so far.
pub trait Past {
    /// Node `n`'s outcome, once it ended.
    fn outcome(&self, n: usize) -> Option<&Outcome>;
    /// Node `n` failed but `meta: clear_host_errors` took the failure back.
    fn cleared(&self, n: usize) -> bool;
    /// `meta: end_play` ended node `n`'s play on its batch.
    fn ended_play(&self, n: usize) -> bool;
}

/// The gate of node `i`; `None` while a dependency has not ended.
pub fn gate(dag: &Dag, i: usize, past: &impl Past) -> Option<Gate> {
    let node = &dag.nodes[i];
    let mut ended = Vec::with_capacity(node.deps.len());
    for &d in &node.deps {
        ended.push((d, past.outcome(d)?));
    }
    if ended
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Interrupted(_)))
    {
        return Some(Gate::Interrupted);
    }
    // Not run because `meta: end_play` ended its play: ended, not failed.
    let ended_play = |o: &Outcome| matches!(o, Outcome::Skipped(r) if r.ends_with(ENDED));
    let failed = |d: usize, o: &Outcome| !o.succeeded() && !past.cleared(d) && !ended_play(o);
    let play = &dag.plays[node.play];
    if play.explicit_after {
        return Some(match ended.iter().find(|(d, o)| failed(*d, o)) {
            Some((d, o)) => Gate::Skip(format!(
                "`{}` on `{}` {}",
                dag.plays[dag.nodes[*d].play].name,
                dag.nodes[*d].host,
                why(o)
            )),
            None => Gate::Run,
        });
    }
    // The host left the run where it failed.
    if let Some((d, o)) = ended
        .iter()
        .find(|(d, o)| dag.nodes[*d].host == node.host && failed(*d, o))
    {
        return Some(Gate::Skip(match o {
            Outcome::Skipped(reason) => reason.clone(),
            _ => format!(
                "`{}` {} in play `{}`",
                node.host,
                why(o),
                dag.plays[dag.nodes[*d].play].name
            ),
        }));
    }
    // A playbook before this one had a failed host.
    if let Some((d, _)) = ended
        .iter()
        .find(|(d, o)| dag.plays[dag.nodes[*d].play].book < play.book && failed(*d, o))
    {
        return Some(Gate::Skip(format!(
            "`{}` failed in play `{}` of an earlier playbook: as with ansible-playbook, no further playbook runs",
            dag.nodes[*d].host, dag.plays[dag.nodes[*d].play].name
        )));
    }
    // A batch before this node, in the same playbook, failed on every host or was ended.
    let mut batches: BTreeMap<(usize, &str), Vec<(usize, &Outcome)>> = BTreeMap::new();
    for &(d, o) in &ended {
        let dep = &dag.nodes[d];
        let first = dep.batch.first().map_or(dep.host.as_str(), String::as_str);
        batches.entry((dep.play, first)).or_default().push((d, o));
    }
    for ((p, _), members) in &batches {
        // The batch before was skipped because the play stopped: so is this one.
        if *p == node.play
            && let Some(reason) = members.iter().find_map(|(_, o)| match o {
                Outcome::Skipped(r) if stops_play(r) => Some(r),
                _ => None,
            })
        {
            return Some(Gate::Skip(reason.clone()));
        }
        let all_failed = members
            .iter()
            .all(|(d, o)| failed(*d, o) && !matches!(o, Outcome::Skipped(_)));
        if all_failed {
            return Some(Gate::Skip(format!(
                "every host of play `{}` failed{BREAK}",
                dag.plays[*p].name
            )));
        }
        if *p == node.play && members.iter().any(|(d, _)| past.ended_play(*d)) {
            return Some(Gate::Skip(format!(
                "`meta: end_play` ended play `{}`{ENDED}",
                dag.plays[*p].name
            )));
        }
    }
    Some(Gate::Run)
}

/// The end of the reason a play's later batches and plays are skipped with when every host
/// of a batch failed.
const BREAK: &str = ": as with ansible-playbook, the rest of the playbook does not run";
/// The same, when `meta: end_play` ended the play.
const ENDED: &str = " on an earlier batch";

/// The reason skips the rest of its play, not only its host.
fn stops_play(reason: &str) -> bool {
    reason.ends_with(BREAK) || reason.ends_with(ENDED)
}

fn why(o: &Outcome) -> &'static str {
    match o {
        Outcome::Skipped(_) => "was skipped",
        Outcome::Unreachable(..) => "could not be reached",
        Outcome::Interrupted(_) => "was interrupted",
        _ => "failed",
    }
}
