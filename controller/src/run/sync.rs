//! The controller's side of sync points between the hosts of a batch (`docs/cross-host.md`):
//! a host waiting at a barrier or a `run_once` task goes on once every other host of its
//! batch has come as far (or ended its play), as with Ansible's linear strategy, and is
//! answered with the batch's facts; a `run_once` task runs on the first host of the batch
//! that reached it, and the others take its result; a throttled task runs on as many hosts
//! at once as its `throttle` says.

use std::collections::HashMap;
use std::sync::Mutex;

use dr_agent::wire::{Active, Answer, Settle, Settled, Shared};
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::throttle::{Slots, ThrottleAt};
use crate::dag::Dag;
use crate::transport::{StopLevel, StopWatch};

/// Every batch's progress through its sync points.
pub struct Hub {
    /// Per node: its batch (an index into `members`).
    batch_of: Vec<usize>,
    /// Per batch: its nodes, in batch order.
    members: Vec<Vec<usize>>,
    /// Per node: the nodes of its play, in play order.
    plays: Vec<std::ops::Range<usize>>,
    /// Per node: its host.
    hosts: Vec<String>,
    state: Mutex<State>,
    /// Bumped on every change; waiters look again.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    /// Per node: the furthest sync point it reached (depth-first task index).
    reached: HashMap<usize, usize>,
    /// Nodes waiting at a sync point now.
    waiting: HashMap<usize, usize>,
    /// Nodes whose play ended (or never started).
    done: Vec<bool>,
    /// Nodes whose play failed (or whose host was unreachable, or that were skipped).
    failed: Vec<bool>,
    /// Per node: its facts and registered results as of its last sync point (or its end).
    facts: HashMap<usize, Map<String, Value>>,
    /// `run_once` tasks: (first node of the batch, task index, handler) → who runs it,
    /// then its result.
    once: HashMap<(usize, OnceAt), Once>,
    /// Facts that delegated tasks set on the hosts they ran on (`delegate_facts`), by host.
    extra: HashMap<String, Map<String, Value>>,
    /// Nodes that never ran (their gate skipped them).
    skipped: Vec<bool>,
    /// Settle points: (first node of the batch, task index) → the nodes where the task
    /// failed, and the node that ran `meta: end_play` there.
    settles: HashMap<(usize, usize), Settling>,
    /// Nodes whose failure `meta: clear_host_errors` took back.
    cleared: Vec<bool>,
    /// Batches (their first node) that `meta: end_play` ended.
    ended: Vec<usize>,
    /// The slots of throttled tasks.
    throttles: Slots,
}

/// What the hosts of a batch reported at one settle point, by node.
#[derive(Default)]
struct Settling {
    reports: Vec<(usize, Settle)>,
}

/// Where a node is in its play, for the barrier's "as far as": before the task at an
/// index (a barrier, a `run_once` task), or after it (a settle point).
fn before(index: usize) -> usize {
    index * 2
}

fn after(index: usize) -> usize {
    index * 2 + 1
}

/// Where a `run_once` task is: its depth-first index, and for a handler, its position
/// among the play's handlers (the index is then the task whose flush runs it).
pub type OnceAt = (usize, Option<usize>);

enum Once {
    /// This node runs the task for the batch.
    Chosen(usize),
    /// The result, for every host of the batch.
    Ran(Box<Shared>),
}

impl Hub {
    /// A hub for the nodes of `dag`.
    pub fn new(dag: &Dag) -> Self {
        let index: HashMap<(usize, &str), usize> = dag
            .nodes
            .iter()
            .enumerate()
            .map(|(j, n)| ((n.play, n.host.as_str()), j))
            .collect();
        let mut ids: HashMap<(usize, &str), usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut batch_of = Vec::with_capacity(dag.nodes.len());
        for node in &dag.nodes {
            let first = node
                .batch
                .first()
                .map_or(node.host.as_str(), String::as_str);
            let id = *ids.entry((node.play, first)).or_insert_with(|| {
                members.push(
                    node.batch
                        .iter()
                        .filter_map(|h| index.get(&(node.play, h.as_str())).copied())
                        .collect(),
                );
                members.len() - 1
            });
            batch_of.push(id);
        }
        let plays = dag
            .nodes
            .iter()
            .map(|n| {
                let first = dag.nodes.iter().position(|m| m.play == n.play).unwrap_or(0);
                first..first + dag.plays[n.play].hosts.len()
            })
            .collect();
        Hub {
            batch_of,
            members,
            plays,
            hosts: dag.nodes.iter().map(|n| n.host.clone()).collect(),
            state: Mutex::new(State {
                done: vec![false; dag.nodes.len()],
                failed: vec![false; dag.nodes.len()],
                skipped: vec![false; dag.nodes.len()],
                cleared: vec![false; dag.nodes.len()],
                ..State::default()
            }),
            changed: watch::channel(0).0,
        }
    }

    /// Node `i`'s play ended (or will never run), `failed` or not; `facts` are its last
    /// facts.
    pub fn done(&self, i: usize, facts: Option<Map<String, Value>>, failed: bool) {
        let mut state = self.lock();
        if let Some(done) = state.done.get_mut(i) {
            *done = true;
        }
        if failed && let Some(f) = state.failed.get_mut(i) {
            *f = true;
        }
        state.waiting.remove(&i);
        // Whatever it held: a host that ended (failed, stopped, cut off) holds no slot.
        state.throttles.release_node(i);
        if let Some(facts) = facts {
            state.facts.insert(i, facts);
        }
        drop(state);
        self.bump();
    }

    /// Node `i` never ran: its gate skipped it. It is not one of the batch's failed hosts
    /// for `max_fail_percentage` (as in Ansible, a host that failed in an earlier play does
    /// not count again).
    pub fn skipped(&self, i: usize) {
        if let Some(s) = self.lock().skipped.get_mut(i) {
            *s = true;
        }
        self.done(i, None, true);
    }

    /// Node `i` failed and `meta: clear_host_errors` took the failure back: its host goes
    /// on in the plays after.
    pub fn cleared(&self, i: usize) -> bool {
        self.lock().cleared.get(i).copied().unwrap_or(false)
    }

    /// `meta: end_play` ended the play on node `i`'s batch.
    pub fn ended_play(&self, i: usize) -> bool {
        let first = self.batch(i).first().copied().unwrap_or(i);
        self.lock().ended.contains(&first)
    }

    /// Node `i` finished the task at `index`, which settles the batch: waits for the batch
    /// to finish it too, then says what every host does next (`Answer::Stop` if the run
    /// stops first).
    pub async fn settle(&self, i: usize, index: usize, here: Settle, stop: StopWatch) -> Answer {
        let first = self.batch(i).first().copied().unwrap_or(i);
        let key = (first, index);
        self.lock()
            .settles
            .entry(key)
            .or_default()
            .reports
            .push((i, here.clone()));
        if !self.arrive(i, after(index), None, stop).await {
            return Answer::Stop;
        }
        let mut state = self.lock();
        let batch = self.batch(i);
        let reports = state
            .settles
            .get(&key)
            .map(|s| s.reports.clone())
            .unwrap_or_default();
        let failed_here: Vec<usize> = reports
            .iter()
            .filter(|(_, r)| r.failed)
            .map(|(n, _)| *n)
            .collect();
        // `end_play`, `end_batch` and `clear_host_errors` run once for the batch, as
        // Ansible's linear strategy runs them: on its first host still in the play.
        let meta = batch
            .iter()
            .find_map(|n| reports.iter().find(|(m, _)| m == n))
            .map(|(n, r)| (*n, r.clone()));
        let mut cleared = false;
        if let Some((_, r)) = &meta
            && r.clear_host_errors
        {
            cleared = true;
            // Every failure of the batch's hosts so far, in this play and before it.
            let hosts: Vec<&String> = batch.iter().map(|&n| &self.hosts[n]).collect();
            for n in 0..self.hosts.len() {
                if state.done[n] && state.failed[n] && hosts.contains(&&self.hosts[n]) {
                    state.cleared[n] = true;
                }
            }
        }
        let then = if let Some((by, r)) = meta.as_ref().filter(|(_, r)| r.end_play || r.end_batch) {
            if r.end_play && !state.ended.contains(&first) {
                state.ended.push(first);
            }
            Settled::End {
                by: self.hosts[*by].clone(),
            }
        } else if here.any_errors_fatal && !failed_here.is_empty() {
            Settled::Fail {
                msg: format!(
                    "`any_errors_fatal`: the task failed on {}",
                    self.names(&failed_here)
                ),
            }
        } else if let Some(pct) = here.max_fail_percentage {
            let failed = batch
                .iter()
                .filter(|&&n| {
                    failed_here.contains(&n)
                        || (state.failed[n] && !state.skipped[n] && !state.cleared[n])
                })
                .count();
            if failed as f64 / batch.len().max(1) as f64 > pct / 100.0 {
                Settled::Fail {
                    msg: format!(
                        "`max_fail_percentage: {pct}` exceeded: {failed} of the batch's {} host(s) failed",
                        batch.len()
                    ),
                }
            } else {
                Settled::Go
            }
        } else if cleared {
            Settled::Cleared
        } else {
            Settled::Go
        };
        Answer::Settled { then }
    }

    /// `` `a`, `b` `` for nodes.
    fn names(&self, nodes: &[usize]) -> String {
        nodes
            .iter()
            .map(|&n| format!("`{}`", self.hosts[n]))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Facts a delegated task set on `host` (`delegate_facts`): part of `hostvars[host]`
    /// in the answers from now on.
    pub fn extra_facts(&self, host: &str, facts: Map<String, Value>) {
        if facts.is_empty() {
            return;
        }
        self.lock()
            .extra
            .entry(host.to_owned())
            .or_default()
            .extend(facts);
    }

    /// How many nodes wait at a sync point now (they hold no fork: they run nothing).
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// A receiver that changes whenever a node reaches a sync point or ends.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Node `i` reached the barrier before the task at `index`: waits for its batch, then
    /// answers with the batch's facts (`Answer::Stop` if the run stops first).
    pub async fn barrier(
        &self,
        i: usize,
        index: usize,
        facts: Map<String, Value>,
        stop: StopWatch,
    ) -> Answer {
        if !self.arrive(i, before(index), Some(facts), stop).await {
            return Answer::Stop;
        }
        Answer::Hostvars {
            hosts: self.batch_facts(i),
            active: self.active(i),
        }
    }

    /// Node `i` reached the `run_once` task at `index` (or a `run_once` handler, run at
    /// the flush of the task at `index`): once the batch is there, the first of its hosts
    /// that reached the task runs it ([`Answer::Run`]); the others wait for its result
    /// ([`Answer::Shared`]).
    pub async fn run_once(
        &self,
        i: usize,
        (index, handler): OnceAt,
        facts: Map<String, Value>,
        mut stop: StopWatch,
    ) -> Answer {
        if !self
            .arrive(i, before(index), Some(facts), stop.clone())
            .await
        {
            return Answer::Stop;
        }
        let first = self.batch(i).first().copied().unwrap_or(i);
        let key = (first, (index, handler));
        {
            let mut state = self.lock();
            if !state.once.contains_key(&key) {
                // Every host of the batch is here or gone: the first one here runs it.
                let chosen = self
                    .batch(i)
                    .iter()
                    .copied()
                    .find(|n| state.reached.get(n) == Some(&before(index)) && !state.done[*n])
                    .unwrap_or(i);
                state.once.insert(key, Once::Chosen(chosen));
            }
            if let Some(Once::Chosen(c)) = state.once.get(&key)
                && *c == i
            {
                state.waiting.remove(&i);
                drop(state);
                self.bump();
                return Answer::Run {
                    hosts: self.batch_facts(i),
                    active: self.active(i),
                };
            }
        }
        self.lock().waiting.insert(i, index);
        self.bump();
        let mut changed = self.watch();
        loop {
            {
                let mut state = self.lock();
                let result = match state.once.get(&key) {
                    Some(Once::Ran(shared)) => Some((**shared).clone()),
                    Some(Once::Chosen(c)) if state.done[*c] => {
                        let host = &self.hosts[*c];
                        Some(Shared::failed(
                            host,
                            format!(
                                "`{host}` ran this `run_once` task for the batch but ended before its result"
                            ),
                        ))
                    }
                    _ => None,
                };
                if let Some(result) = result {
                    state.waiting.remove(&i);
                    drop(state);
                    self.bump();
                    return Answer::Shared {
                        result,
                        hosts: self.batch_facts(i),
                        active: self.active(i),
                    };
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return Answer::Stop },
                r = stop.wait_for(|l| *l != StopLevel::Run) => {
                    let _ = r;
                    self.lock().waiting.remove(&i);
                    return Answer::Stop;
                }
            }
        }
    }

    /// The `run_once` task (or handler) at `at` ran on node `i` for its batch.
    pub fn ran_once(&self, i: usize, at: OnceAt, result: Shared) {
        let first = self.batch(i).first().copied().unwrap_or(i);
        self.lock()
            .once
            .insert((first, at), Once::Ran(Box::new(result)));
        self.bump();
    }

    /// Node `i` is about to run the throttled task at `at`, which at most `limit` hosts of
    /// its batch run at once: answers [`Answer::Go`] once it holds a slot (`Answer::Stop`
    /// if the run stops first). It waits holding no fork.
    pub async fn throttle(
        &self,
        i: usize,
        at: ThrottleAt,
        limit: u32,
        mut stop: StopWatch,
    ) -> Answer {
        let key = (self.batch(i).first().copied().unwrap_or(i), at);
        let mut changed = self.watch();
        {
            let mut state = self.lock();
            if state.throttles.ask(key, i, limit) {
                return Answer::Go;
            }
            state.waiting.insert(i, at.0);
        }
        self.bump();
        loop {
            {
                let mut state = self.lock();
                if state.throttles.holds(key, i) {
                    state.waiting.remove(&i);
                    drop(state);
                    self.bump();
                    return Answer::Go;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return Answer::Stop },
                r = stop.wait_for(|l| *l != StopLevel::Run) => {
                    let _ = r;
                    let mut state = self.lock();
                    state.throttles.release(key, i);
                    state.waiting.remove(&i);
                    drop(state);
                    self.bump();
                    return Answer::Stop;
                }
            }
        }
    }

    /// Node `i` finished the throttled task at `at`: its slot goes to the next host.
    pub fn release(&self, i: usize, at: ThrottleAt) {
        let key = (self.batch(i).first().copied().unwrap_or(i), at);
        self.lock().throttles.release(key, i);
        self.bump();
    }

    /// Records node `i` at position `at` ([`before`]/[`after`] a task) and waits until
    /// every other node of its batch reached it (or a later one) or ended. `facts` are
    /// node `i`'s facts now, where the sync point sends them. `false` if the run stops
    /// first.
    async fn arrive(
        &self,
        i: usize,
        at: usize,
        facts: Option<Map<String, Value>>,
        mut stop: StopWatch,
    ) -> bool {
        let index = at;
        {
            let mut state = self.lock();
            let reached = state.reached.entry(i).or_insert(index);
            *reached = (*reached).max(index);
            state.waiting.insert(i, index);
            if let Some(facts) = facts {
                state.facts.insert(i, facts);
            }
        }
        self.bump();
        let mut changed = self.watch();
        loop {
            {
                let mut state = self.lock();
                let all_here = self.batch(i).iter().all(|&n| {
                    n == i || state.done[n] || state.reached.get(&n).is_some_and(|r| *r >= index)
                });
                if all_here {
                    state.waiting.remove(&i);
                    drop(state);
                    self.bump();
                    return true;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return false },
                r = stop.wait_for(|l| *l != StopLevel::Run) => {
                    let _ = r;
                    self.lock().waiting.remove(&i);
                    self.bump();
                    return false;
                }
            }
        }
    }

    /// The facts of node `i`'s batch, by host, with the facts delegated tasks set.
    fn batch_facts(&self, i: usize) -> Map<String, Value> {
        let state = self.lock();
        let mut hosts: Map<String, Value> = state
            .extra
            .iter()
            .map(|(h, f)| (h.clone(), Value::Object(f.clone())))
            .collect();
        for n in self.batch(i) {
            if let Some(facts) = state.facts.get(n) {
                match hosts.get_mut(&self.hosts[*n]) {
                    Some(Value::Object(extra)) => extra.extend(facts.clone()),
                    _ => {
                        hosts.insert(self.hosts[*n].clone(), Value::Object(facts.clone()));
                    }
                }
            }
        }
        hosts
    }

    /// The hosts of node `i`'s play and batch that have not failed.
    fn active(&self, i: usize) -> Active {
        let state = self.lock();
        let alive = |n: &usize| !state.failed[*n];
        Active {
            play_hosts: self.plays[i]
                .clone()
                .filter(alive)
                .map(|n| self.hosts[n].clone())
                .collect(),
            play_batch: self
                .batch(i)
                .iter()
                .filter(|n| alive(n))
                .map(|n| self.hosts[*n].clone())
                .collect(),
            groups: None,
        }
    }

    /// The nodes of node `i`'s batch (itself included), in batch order.
    fn batch(&self, i: usize) -> &[usize] {
        &self.members[self.batch_of[i]]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::{DagNode, PlayInfo};
    use crate::diagnostic::Loc;
    use std::time::Duration;

    /// One play on `hosts`, all in one batch.
    fn hub(hosts: &[&str]) -> Hub {
        let batch: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let dag = Dag {
            plays: vec![PlayInfo {
                book: 0,
                name: "p".into(),
                loc: Loc::new("p.yml".into(), 1, 1),
                after: Vec::new(),
                explicit_after: false,
                hosts: batch.clone(),
                sync_points: Vec::new(),
                deferred: false,
                serial: None,
            }],
            nodes: batch
                .iter()
                .map(|h| DagNode {
                    play: 0,
                    host: h.clone(),
                    deps: Vec::new(),
                    batch: batch.clone().into(),
                })
                .collect(),
            stages: vec![(0..hosts.len()).collect()],
        };
        Hub::new(&dag)
    }

    fn facts(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn a_barrier_waits_for_the_batch_then_answers_every_hosts_facts() {
        let hub = std::sync::Arc::new(hub(&["a", "b"]));
        let (_stop_tx, stop) = watch::channel(StopLevel::Run);
        let first = {
            let (hub, stop) = (hub.clone(), stop.clone());
            tokio::spawn(async move {
                hub.barrier(0, 3, facts(serde_json::json!({"x": 1})), stop)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!first.is_finished(), "`a` went on before `b` came");
        assert_eq!(hub.waiting(), 1, "a waiting host holds no fork");
        let second = hub
            .barrier(1, 3, facts(serde_json::json!({"y": 2})), stop)
            .await;
        let expected = serde_json::json!({"a": {"x": 1}, "b": {"y": 2}});
        let both = vec!["a".to_owned(), "b".to_owned()];
        for answer in [first.await.unwrap(), second] {
            assert_eq!(
                answer,
                Answer::Hostvars {
                    hosts: facts(expected.clone()),
                    active: Active {
                        play_hosts: both.clone(),
                        play_batch: both.clone(),
                        groups: None,
                    }
                }
            );
        }
    }

    #[tokio::test]
    async fn an_ended_host_releases_the_barrier_and_a_stop_ends_the_wait() {
        let hub = std::sync::Arc::new(hub(&["a", "b", "c"]));
        let (stop_tx, stop) = watch::channel(StopLevel::Run);
        hub.done(1, Some(facts(serde_json::json!({"gone": true}))), true);
        let waiting = {
            let (hub, stop) = (hub.clone(), stop.clone());
            tokio::spawn(async move { hub.barrier(0, 1, Map::new(), stop).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "`c` has not come yet");
        stop_tx.send(StopLevel::AfterTask).unwrap();
        assert_eq!(waiting.await.unwrap(), Answer::Stop);
        assert_eq!(hub.waiting(), 0);
    }

    #[tokio::test]
    async fn a_throttled_host_waits_for_a_slot_and_an_ended_holder_frees_its_own() {
        let hub = std::sync::Arc::new(hub(&["a", "b", "c"]));
        let (stop_tx, stop) = watch::channel(StopLevel::Run);
        let at = (2, false);
        assert_eq!(hub.throttle(0, at, 1, stop.clone()).await, Answer::Go);
        let ask = |i: usize, at: ThrottleAt| {
            let (hub, stop) = (hub.clone(), stop.clone());
            tokio::spawn(async move { hub.throttle(i, at, 1, stop).await })
        };
        let b = ask(1, at);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let c = ask(2, at);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!b.is_finished() && !c.is_finished(), "a second host ran");
        assert_eq!(hub.waiting(), 2, "a waiting host holds no fork");
        hub.release(0, at);
        assert_eq!(b.await.unwrap(), Answer::Go, "`b` asked first");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!c.is_finished(), "`c` ran beside `b`");
        // `b`'s play ends (it failed, or its connection was cut) while it holds the slot.
        hub.done(1, None, true);
        assert_eq!(c.await.unwrap(), Answer::Go);
        assert_eq!(hub.waiting(), 0);
        // A stop ends a wait, and the stopped host leaves the queue.
        let waiting = ask(0, at);
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send(StopLevel::AfterTask).unwrap();
        assert_eq!(waiting.await.unwrap(), Answer::Stop);
        assert_eq!(hub.waiting(), 0);
    }

    #[tokio::test]
    async fn run_once_runs_on_the_first_host_and_the_others_take_its_result() {
        let hub = std::sync::Arc::new(hub(&["a", "b"]));
        let (_stop_tx, stop) = watch::channel(StopLevel::Run);
        let b = {
            let (hub, stop) = (hub.clone(), stop.clone());
            tokio::spawn(async move { hub.run_once(1, (2, None), Map::new(), stop).await })
        };
        let a = hub.run_once(0, (2, None), Map::new(), stop).await;
        assert!(matches!(a, Answer::Run { .. }), "{a:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!b.is_finished(), "`b` waits for the result");
        let result = Shared {
            status: dr_agent::wire::Status::Changed,
            msg: String::new(),
            detail: Map::new(),
            diffs: Vec::new(),
            dangerous: false,
            register: facts(serde_json::json!({"stdout": "t"})),
            facts: Map::new(),
            host_facts: Map::new(),
            on: "a".into(),
        };
        hub.ran_once(0, (2, None), result.clone());
        match b.await.unwrap() {
            Answer::Shared { result: taken, .. } => assert_eq!(taken, result),
            other => panic!("{other:?}"),
        }
    }
}
