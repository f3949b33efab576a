//! Runs the DAG: nodes whose dependencies ended start, up to `forks` at once, unless their
//! gate ([`super::gate`]) says they are skipped, with the reason. Once the run is stopping
//! (any [`StopLevel`] past `Run`) nothing new starts; the running nodes see the same level
//! and end after their running task, or at once on a kill.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::event::{Outcome, RunEvent, Stamped};
use super::gate::{Gate, Past, gate};
use super::node::{NodeJob, run_node};
use super::sync::Hub;
use crate::dag::Dag;
use crate::transport::{StopLevel, StopWatch, Transport, reached};

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Running,
    Done(Outcome),
}

/// Runs every node of `dag` but the first ones, which ended before (`done`: their
/// outcomes, from an earlier phase of the run); returns each node's outcome (index = node
/// index). With `release` (the run's last phase), a host whose nodes have all ended is
/// released from the transport at once, not at the run's end.
pub async fn execute(
    dag: &Dag,
    job: Arc<NodeJob>,
    forks: usize,
    sink: UnboundedSender<Stamped>,
    stop: StopWatch,
    done: Vec<Outcome>,
    release: bool,
) -> Vec<Outcome> {
    let forks = forks.max(1);
    let mut states = vec![State::Pending; dag.nodes.len()];
    for (i, outcome) in done.into_iter().enumerate().take(states.len()) {
        states[i] = State::Done(outcome);
    }
    let mut running = JoinSet::new();
    let mut watch = stop.clone();
    let phase = job.phase();
    let hub = &phase.hub;
    for (i, state) in states.iter().enumerate() {
        if let State::Done(outcome) = state {
            hub.done(i, None, !outcome.succeeded());
        }
    }
    let mut syncs = hub.watch();
    let mut left = Left::new(dag, &states);
    loop {
        let interrupted = *stop.borrow() != StopLevel::Run;
        for i in skip_blocked(dag, &mut states, hub, &sink) {
            hub.skipped(i);
            left.ended(dag, i, release, &*job.transport);
        }
        if !interrupted {
            for i in 0..dag.nodes.len() {
                // A node waiting at a sync point runs nothing: it holds no fork, so the
                // hosts it waits for can start.
                if running.len().saturating_sub(hub.waiting()) >= forks {
                    break;
                }
                let ready = states[i] == State::Pending
                    && gate(
                        dag,
                        i,
                        &Seen {
                            states: &states,
                            hub,
                        },
                    ) == Some(Gate::Run);
                if ready {
                    states[i] = State::Running;
                    let _ = sink.send(Stamped::now(RunEvent::NodeStarted { node: i }));
                    let job = job.clone();
                    let sink = sink.clone();
                    let stop = stop.clone();
                    running.spawn(async move { (i, run_node(&job, i, sink, stop).await) });
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            finished = running.join_next() => {
                if let Some(result) = finished {
                    let (i, outcome) = result.unwrap_or_else(|e| (usize::MAX, Outcome::Unreachable(format!("internal error (a bug in dr): {e}"), Default::default())));
                    if i < states.len() {
                        let _ = sink.send(Stamped::now(RunEvent::NodeFinished { node: i, outcome: outcome.clone() }));
                        hub.done(i, None, !outcome.succeeded());
                        states[i] = State::Done(outcome);
                        left.ended(dag, i, release, &*job.transport);
                    }
                }
            }
            _ = syncs.changed() => {}
            // Wakes the loop so that nothing new starts.
            () = reached(&mut watch, StopLevel::AfterTask), if !interrupted => {}
        }
    }
    states
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            State::Done(o) => o,
            State::Pending | State::Running => {
                let outcome = Outcome::Interrupted(Default::default());
                let _ = sink.send(Stamped::now(RunEvent::NodeFinished {
                    node: i,
                    outcome: outcome.clone(),
                }));
                outcome
            }
        })
        .collect()
}

/// Per host, its nodes that have not ended yet.
struct Left<'a>(HashMap<&'a str, usize>);

impl<'a> Left<'a> {
    fn new(dag: &'a Dag, states: &[State]) -> Self {
        let mut left = HashMap::new();
        for (node, state) in dag.nodes.iter().zip(states) {
            if !matches!(state, State::Done(_)) {
                *left.entry(node.host.as_str()).or_insert(0) += 1;
            }
        }
        Left(left)
    }

    /// Node `i` ended; when it was its host's last, the transport may let the host go
    /// (`release`).
    fn ended(&mut self, dag: &Dag, i: usize, release: bool, transport: &dyn Transport) {
        let host = dag.nodes[i].host.as_str();
        if let Some(n) = self.0.get_mut(host) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(host);
                if release {
                    transport.release(host);
                }
            }
        }
    }
}

/// Marks pending nodes whose gate says they do not run as skipped (or interrupted), with
/// the reason; returns them.
fn skip_blocked(
    dag: &Dag,
    states: &mut [State],
    hub: &Hub,
    sink: &UnboundedSender<Stamped>,
) -> Vec<usize> {
    let mut skipped = Vec::new();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..dag.nodes.len() {
            if states[i] != State::Pending {
                continue;
            }
            let outcome = match gate(dag, i, &Seen { states, hub }) {
                Some(Gate::Skip(reason)) => Outcome::Skipped(reason),
                // Not run because the operator stopped the run: interrupted, not skipped.
                Some(Gate::Interrupted) => Outcome::Interrupted(Default::default()),
                Some(Gate::Run) | None => continue,
            };
            let _ = sink.send(Stamped::now(RunEvent::NodeFinished {
                node: i,
                outcome: outcome.clone(),
            }));
            states[i] = State::Done(outcome);
            skipped.push(i);
            changed = true;
        }
    }
    skipped
}

/// The run so far, as the gate reads it.
struct Seen<'a> {
    states: &'a [State],
    hub: &'a Hub,
}

impl Past for Seen<'_> {
    fn outcome(&self, n: usize) -> Option<&Outcome> {
        match &self.states[n] {
            State::Done(o) => Some(o),
            _ => None,
        }
    }

    fn cleared(&self, n: usize) -> bool {
        self.hub.cleared(n)
    }

    fn ended_play(&self, n: usize) -> bool {
        self.hub.ended_play(n)
    }
}
