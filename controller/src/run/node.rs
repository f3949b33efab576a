//! One node: build its request, hand it to the transport, relay events, decide the outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dr_agent::wire::{
    Answer, Event, InventoryChange, Mode, PROTOCOL_VERSION, Play, Request, SharedVars, Stats,
    SyncPoint,
};
use serde_json::{Map, Value};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::event::{Outcome, RunEvent, Stamped};
use super::files;
use super::render_vars::RenderVars;
use super::tally::Tally;
use super::vars::RunVars;
use crate::dag::Dag;
use crate::inventory::{self, Inventory};
use crate::playbook::PlaySpec;
use crate::secrets::Secrets;
use crate::transport::{StopLevel, StopWatch, Transport, TransportError, reached};

/// The DAG as far as the run has compiled it, and where its batches meet: replaced when
/// plays after `add_host`/`group_by` get their hosts.
pub struct Phase {
    /// The compiled DAG.
    pub dag: Dag,
    /// Where the hosts of a batch meet at sync points.
    pub hub: super::sync::Hub,
}

/// Everything a node needs, shared by all nodes of a run.
pub struct NodeJob {
    /// The DAG and its sync hub, as of this phase of the run.
    pub phase: std::sync::RwLock<Arc<Phase>>,
    /// The first play whose hosts were chosen during the run (after `add_host` or
    /// `group_by`): its destructive steps could not be confirmed before the run.
    pub deferred_from: Option<usize>,
    /// Plays in DAG order.
    pub plays: Vec<PlaySpec>,
    /// The inventory.
    pub inventory: Inventory,
    /// Run-wide vars.
    pub vars: RunVars,
    /// Secrets to mask.
    pub secrets: Secrets,
    /// Where requests go.
    pub transport: Arc<dyn Transport>,
    /// Check or apply.
    pub mode: Mode,
    /// Compute diffs.
    pub diff: bool,
    /// Ansible's diff mode (`--diff`, a plan).
    pub diff_mode: bool,
    /// Ask the agents for what Ansible's stdout callback is given (`--format ansible`).
    pub callback: bool,
    /// Notifying a missing handler only warns (`ANSIBLE_ERROR_ON_MISSING_HANDLER=false`).
    pub missing_handler_warns: bool,
    /// Ansible's `ALLOW_BROKEN_CONDITIONALS` (see `Request::allow_broken_conditionals`).
    pub allow_broken_conditionals: bool,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `--force-handlers`.
    pub force_handlers: bool,
    /// `-c`: the connection of hosts whose variables name none.
    pub connection: Option<String>,
    /// `--yes`: destructive steps were agreed to up front.
    pub yes: bool,
    /// Destructive steps were agreed to (`--yes`, or confirmed on the terminal): the
    /// agent may remove a non-empty directory.
    pub consent: bool,
    /// Per host, the facts and registered results of the plays that ran so far: later
    /// plays on the host start with them, and other hosts read them in `hostvars`, as in
    /// Ansible.
    pub facts: Mutex<HashMap<String, Map<String, Value>>>,
    /// Per host, the facts gathered from it (`setup`, a module's `ansible_facts`) in the
    /// plays that ran so far, which rank below play vars.
    pub host_facts: Mutex<HashMap<String, Map<String, Value>>>,
    /// The fact cache (`jsonfile`), if the run keeps one: hosts' host facts start from it,
    /// and are written back to it.
    pub fact_cache: Option<crate::fact_cache::FactCache>,
    /// Per play: the variables that read other hosts' variables (see `sync_marks`).
    pub reading_hostvars: Vec<std::collections::HashSet<String>>,
    /// The inventory as `add_host` and `group_by` changed it (`None` until they do).
    pub live: Mutex<Option<Inventory>>,
    /// Where the inventory was read from, for `meta: refresh_inventory`.
    pub sources: Vec<std::path::PathBuf>,
    /// The `add_host`/`group_by` changes made so far (by host), kept over a refresh.
    pub dynamic: Mutex<Vec<(String, InventoryChange)>>,
    /// The `hostvars` requests carry, built once per change of the facts or inventory.
    pub hostvars: super::hostvars::HostvarsCache,
    /// `groups` and the play's host lists requests carry, built once per batch.
    pub play_vars: super::play_vars::PlayVarsCache,
    /// The plays' tasks, shared by the requests that carry them unchanged.
    pub shared_tasks: super::shared_tasks::SharedTasks,
}

impl NodeJob {
    /// The DAG and sync hub of the phase running now.
    pub fn phase(&self) -> Arc<Phase> {
        self.phase.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts a new phase: `dag` extended with nodes for plays whose hosts are known now.
    pub fn set_phase(&self, dag: Dag) {
        let hub = super::sync::Hub::new(&dag);
        *self.phase.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Phase { dag, hub });
    }

    /// Keeps a host's facts and registered results, and the facts gathered from it
    /// (`host_facts`, which rank below play vars), for its later plays.
    pub(super) fn remember_facts(
        &self,
        host: &str,
        facts: Map<String, Value>,
        host_facts: Map<String, Value>,
    ) {
        let host_facts_empty = host_facts.is_empty();
        if !host_facts_empty {
            let mut all = self.host_facts.lock().unwrap_or_else(|p| p.into_inner());
            let mine = all.entry(host.to_owned()).or_default();
            let before = self.fact_cache.as_ref().map(|_| mine.clone());
            mine.extend(host_facts);
            if let (Some(cache), Some(before)) = (&self.fact_cache, before)
                && before != *mine
                && let Err(e) = cache.store(host, mine)
            {
                // As Ansible: a cache that cannot be written is a warning, not a failure.
                tracing::warn!(
                    "cannot write the fact cache file `{}`: {}",
                    cache.file_of(host).display(),
                    crate::diagnostic::io_reason(&e)
                );
            }
        }
        if facts.is_empty() {
            if !host_facts_empty {
                self.hostvars.changed();
            }
            return;
        }
        let mut all = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(host.to_owned()).or_default().extend(facts);
        drop(all);
        self.hostvars.changed();
    }

    /// Puts `host`'s cached facts (the first time it is asked for) below the host facts
    /// the run has for it.
    pub fn load_cached_facts(&self, host: &str) -> Result<(), crate::fact_cache::FactCacheError> {
        let Some(cache) = &self.fact_cache else {
            return Ok(());
        };
        let Some(cached) = cache.load_once(host)? else {
            return Ok(());
        };
        let mut all = self.host_facts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = all.entry(host.to_owned()).or_default();
        let mut merged = cached;
        merged.extend(std::mem::take(mine));
        *mine = merged;
        drop(all);
        self.hostvars.changed();
        Ok(())
    }

    /// Applies `add_host`/`group_by` from node `i` to the run's inventory.
    fn change_inventory(&self, i: usize, change: InventoryChange) -> Answer {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let inv = live.get_or_insert_with(|| self.inventory.clone());
        let before = inv.clone();
        let phase = self.phase();
        let me = &phase.dag.nodes[i].host;
        let (changed, touched) = match &change {
            InventoryChange::Refresh => match self.refreshed() {
                Ok(fresh) => {
                    *inv = fresh;
                    (Ok(false), me.clone())
                }
                Err(msg) => return Answer::Failed { msg },
            },
            other => (
                apply_change(inv, me, other, &self.secrets),
                touched_by(me, other),
            ),
        };
        // Requests from now on carry `hostvars` and `groups` as the changed inventory has
        // them.
        self.hostvars.changed();
        self.play_vars.changed();
        if !matches!(change, InventoryChange::Refresh) {
            self.dynamic
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((me.clone(), change.clone()));
        }
        let changed = match changed {
            Ok(changed) => changed,
            Err(e) => return Answer::Failed { msg: e.to_string() },
        };
        // The host's own variables the new groups give (`group_vars/` of a group it joined),
        // merged at their precedence as for a new request.
        let node = &phase.dag.nodes[i];
        let play = &self.plays[node.play];
        let vars = match (
            self.vars.for_node(&before, play, me, &self.secrets),
            self.vars.for_node(inv, play, me, &self.secrets),
        ) {
            (Ok(old), Ok(new)) => new
                .into_iter()
                .filter(|(k, v)| old.get(k) != Some(v))
                .collect(),
            (Err(e), _) | (_, Err(e)) => return Answer::Failed { msg: e.to_string() },
        };
        let entry = match self
            .vars
            .hostvars_entry_beside(inv, &touched, &play.dir, &self.secrets)
        {
            Ok(entry) => entry,
            Err(e) => return Answer::Failed { msg: e.to_string() },
        };
        let mut hosts = Map::new();
        hosts.insert(touched, entry);
        Answer::Inventory {
            changed,
            groups: inv.groups_var(),
            hosts,
            vars,
        }
    }

    /// The inventory read again from its sources, with the hosts and groups the run's
    /// `add_host`/`group_by` made added again in order, as Ansible's refresh keeps them.
    fn refreshed(&self) -> Result<Inventory, String> {
        let mut fresh =
            crate::inventory::load(&self.sources, &self.secrets).map_err(|e| e.to_string())?;
        let dynamic = self.dynamic.lock().unwrap_or_else(|p| p.into_inner());
        for (host, change) in dynamic.iter() {
            apply_change(&mut fresh, host, change, &self.secrets).map_err(|e| e.to_string())?;
        }
        Ok(fresh)
    }

    fn facts_of(&self, host: &str) -> Map<String, Value> {
        let all = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        all.get(host).cloned().unwrap_or_default()
    }
}

/// Runs node `i` to its end, or until the run is stopped (`stop`).
pub async fn run_node(
    job: &Arc<NodeJob>,
    i: usize,
    sink: UnboundedSender<Stamped>,
    stop: StopWatch,
) -> Outcome {
    let phase = job.phase();
    let node = &phase.dag.nodes[i];
    let play = &job.plays[node.play];
    if *stop.borrow() != StopLevel::Run {
        return Outcome::Interrupted(Stats::default());
    }
    let request = match build_request(job, play, &phase.dag.plays[node.play].hosts, node) {
        Ok(r) => r,
        Err(message) => {
            return Outcome::Failed {
                stats: Stats::default(),
                error: message,
            };
        }
    };
    let named = inventory::connection_var(&request.vars, "connection").is_some();
    let conn = if super::no_connection::needs_no_connection(&request)
        || (!named && job.connection.as_deref() == Some("local"))
    {
        inventory::Connection::Local
    } else {
        inventory::connection_of(&node.host, &request.vars)
    };
    if let Some(refusal) = reset_over_ssh(&request, &conn) {
        return Outcome::Failed {
            stats: Stats::default(),
            error: refusal,
        };
    }
    // Whole-play `ignore_unreachable` and the host cannot be reached: the play runs on,
    // as in Ansible, each task that needs the host unreachable and ignored, the rest
    // (debug, set_fact, assert, ...) as ever (see `Request::unreachable`).
    let fallback = play.ignore_unreachable.then(|| request.clone());
    let (mut result, mut finished, mut tally) =
        attempt(job, i, &node.host, &conn, request, &sink, stop.clone()).await;
    if let (Err(TransportError::Unreachable(why)), Some(mut request)) = (&result, fallback)
        && tally.is_empty()
    {
        request.unreachable = Some(why.clone());
        (result, finished, tally) = attempt(
            job,
            i,
            &node.host,
            &inventory::Connection::Local,
            request,
            &sink,
            stop,
        )
        .await;
    }
    let facts = finished.as_mut().map(|f| std::mem::take(&mut f.facts));
    let host_facts = finished
        .as_mut()
        .map(|f| std::mem::take(&mut f.host_facts))
        .unwrap_or_default();
    let failed = result.is_err() || finished.as_ref().is_none_or(|f| f.error.is_some());
    // Other hosts see both kinds in `hostvars`, a `set_fact` value over a gathered one.
    let seen = facts.as_ref().map(|f| {
        let mut all = host_facts.clone();
        all.extend(f.clone());
        all
    });
    phase.hub.done(i, seen, failed);
    if let Some(facts) = facts {
        job.remember_facts(&node.host, facts, host_facts);
    }
    match (result, finished) {
        (Err(TransportError::Interrupted), _) => Outcome::Interrupted(tally.stats()),
        // Cut off mid-play: the counters of the results it reported before.
        (Err(e), _) if play.ignore_unreachable => {
            Outcome::UnreachableIgnored(e.to_string(), tally.stats())
        }
        (Err(e), _) => Outcome::Unreachable(e.to_string(), tally.stats()),
        (Ok(()), Some(f)) => match f.error {
            Some(error) => Outcome::Failed {
                stats: f.stats,
                error,
            },
            None if f.interrupted => Outcome::Interrupted(f.stats),
            None => Outcome::Ok(f.stats),
        },
        (Ok(()), None) => Outcome::Unreachable(
            "the agent ended without reporting the end of the play".into(),
            tally.stats(),
        ),
    }
}

/// Whether `task` may change a connection variable for itself or later tasks (its `vars`,
/// its connection keywords, a `set_fact` of one, `include_vars`), after which the agent
/// asks for a connection of the task's own.
fn may_reconnect(task: &dr_agent::wire::Task) -> bool {
    use dr_agent::engine::connection_vars::is_connection_var;
    let sets =
        |m: &serde_json::Map<String, serde_json::Value>| m.keys().any(|k| is_connection_var(k));
    sets(&task.vars)
        || !task.connection.is_empty()
        || task.module == "include_vars"
        || (task.module == "set_fact" && task.args.as_object().is_some_and(sets))
}

/// One try at running `request` on `host` over `conn`: the transport's result, the agent's
/// `Finished` report and the tally of what it reported.
async fn attempt(
    job: &Arc<NodeJob>,
    i: usize,
    host: &str,
    conn: &inventory::Connection,
    request: Request,
    sink: &UnboundedSender<Stamped>,
    stop: StopWatch,
) -> (Result<(), TransportError>, Option<Finished>, Tally) {
    let (tx, mut rx) = unbounded_channel::<Box<Event>>();
    let (answer, answers) = unbounded_channel::<Box<Answer>>();
    // Delegated tasks, and tasks that connect again with connection variables of their
    // own, run with what this request carries (files, lookups, secrets).
    let base = request
        .play
        .tasks
        .iter()
        .chain(request.play.handlers.iter())
        .flat_map(dr_agent::wire::Task::walk)
        .any(|t| t.delegate_to.is_some() || may_reconnect(t))
        .then(|| Arc::new(request.clone()));
    let relay = {
        let sink = sink.clone();
        let secrets = job.secrets.clone();
        let job = job.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut last: Option<Finished> = None;
            while let Some(event) = rx.recv().await {
                let mut event = *event;
                if let Event::Sync { point } = event {
                    // Boxed: the relay waits for events with this future's state (kilobytes)
                    // allocated only while a sync point is being answered.
                    let reply =
                        Box::pin(sync_point(&job, i, *point, base.as_deref(), &sink, &stop)).await;
                    if let Some(reply) = reply {
                        let _ = answer.send(Box::new(reply));
                    }
                    continue;
                }
                tally.observe(&event);
                if let Event::Finished {
                    stats,
                    error,
                    facts,
                    host_facts,
                    interrupted,
                    sensitive,
                } = &mut event
                {
                    // Text the play derived from secrets: masked from now on, and a secret
                    // for the host's later plays (which may read it from the facts).
                    for s in std::mem::take(sensitive) {
                        secrets.add(&s);
                    }
                    // The facts are data for later plays, not for output or the journal.
                    last = Some(Finished {
                        stats: *stats,
                        error: error.clone(),
                        facts: std::mem::take(facts),
                        host_facts: std::mem::take(host_facts),
                        interrupted: *interrupted,
                    });
                }
                let _ = sink.send(Stamped::now(RunEvent::Agent { node: i, event }));
            }
            (last, tally)
        })
    };
    let payloads: Vec<String> = request.bridged.keys().cloned().collect();
    let bridge_key = crate::bridge::host_key(host, &request.vars, request.play.become_.as_deref());
    let run = job
        .transport
        .run(host, conn, request, tx, answers, stop.clone());
    // A transport kills its node itself on a stop at `Now`; this bounds the wait for one
    // that is still connecting or pushing the agent.
    let mut killed = stop;
    let result = tokio::select! {
        r = run => r,
        () = async {
            reached(&mut killed, StopLevel::Now).await;
            tokio::time::sleep(KILL_GRACE).await;
        } => Err(TransportError::Interrupted),
    };
    if result.is_ok() {
        crate::bridge::delivered(&bridge_key, &payloads);
    }
    let (finished, tally) = relay.await.unwrap_or_default();
    (result, finished, tally)
}

/// `meta: reset_connection` starts a new session with the host in Ansible (new group
/// memberships, a new `ansible_user`); dr runs the play in one session, so over SSH it is
/// refused before anything runs on the host. Over the local connection it does nothing,
/// as Ansible's.
fn reset_over_ssh(request: &Request, conn: &inventory::Connection) -> Option<String> {
    if matches!(conn, inventory::Connection::Local) {
        return None;
    }
    let task = request
        .play
        .tasks
        .iter()
        .chain(request.play.handlers.iter())
        .flat_map(dr_agent::wire::Task::walk)
        .find(|t| t.meta_action() == Some("reset_connection"))?;
    Some(format!(
        "`meta: reset_connection` is not supported over SSH by dr: the play runs in one session on the host ({}); nothing ran on this host",
        task.location
    ))
}

/// Applies an `add_host`/`group_by` made by host `me` to `inv`; whether it changed it.
fn apply_change(
    inv: &mut Inventory,
    me: &str,
    change: &InventoryChange,
    secrets: &crate::secrets::Secrets,
) -> Result<bool, crate::diagnostic::Diagnostic> {
    match change {
        InventoryChange::AddHost { name, groups, vars } => {
            inv.add_dynamic_host(name, groups, vars, secrets)
        }
        InventoryChange::GroupBy { key, parents } => {
            inv.add_dynamic_group(me, key, parents, secrets)
        }
        InventoryChange::Refresh => Ok(false),
    }
}

/// The host whose variables an inventory change touches.
fn touched_by(me: &str, change: &InventoryChange) -> String {
    match change {
        InventoryChange::AddHost { name, .. } => name.clone(),
        _ => me.to_owned(),
    }
}

/// The journal's word for an inventory change.
fn inventory_word(change: &InventoryChange) -> &'static str {
    match change {
        InventoryChange::AddHost { .. } => "add_host",
        InventoryChange::GroupBy { .. } => "group_by",
        InventoryChange::Refresh => "refresh_inventory",
    }
}

/// Answers a sync point of node `i` (`docs/cross-host.md`); `None` for a report that
/// needs no answer.
async fn sync_point(
    job: &Arc<NodeJob>,
    i: usize,
    point: SyncPoint,
    base: Option<&Request>,
    sink: &UnboundedSender<Stamped>,
    stop: &StopWatch,
) -> Option<Answer> {
    let stop = stop.clone();
    let arrived = std::time::Instant::now();
    let (what, index) = match &point {
        SyncPoint::Barrier { index, .. } => ("barrier".to_owned(), Some(*index)),
        SyncPoint::Inventory { change } => (inventory_word(change).to_owned(), None),
        SyncPoint::RunOnce { index, .. } | SyncPoint::RanOnce { index, .. } => {
            ("run_once".to_owned(), Some(*index))
        }
        SyncPoint::Delegate(d) => (format!("delegate_to {}", d.to), None),
        SyncPoint::Settle { index, .. } => ("settle".to_owned(), Some(*index)),
        SyncPoint::Fetch { dest, .. } => (format!("fetch to {dest}"), None),
        SyncPoint::Lookup(call) => (format!("lookup {}", call.name), None),
        SyncPoint::Throttle { index, .. } | SyncPoint::Release { index, .. } => {
            ("throttle".to_owned(), Some(*index))
        }
    };
    let mut answer = answer_point(job, i, point, base, sink, stop).await;
    // Hosts that wait see the inventory `add_host`/`group_by` left.
    if let Some(
        Answer::Hostvars { active, .. }
        | Answer::Run { active, .. }
        | Answer::Shared { active, .. },
    ) = &mut answer
        && let Some(live) = job.live.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
    {
        active.groups = Some(live.groups_var());
    }
    if answer.is_some() {
        let _ = sink.send(Stamped::now(RunEvent::Synced {
            node: i,
            what,
            index,
            waited_ms: arrived.elapsed().as_millis() as u64,
        }));
    }
    answer
}

async fn answer_point(
    job: &Arc<NodeJob>,
    i: usize,
    point: SyncPoint,
    base: Option<&Request>,
    sink: &UnboundedSender<Stamped>,
    stop: StopWatch,
) -> Option<Answer> {
    Some(match point {
        SyncPoint::Barrier { index, facts } => job.phase().hub.barrier(i, index, facts, stop).await,
        SyncPoint::RunOnce {
            index,
            handler,
            facts,
        } => {
            job.phase()
                .hub
                .run_once(i, (index, handler), facts, stop)
                .await
        }
        SyncPoint::RanOnce {
            index,
            handler,
            result,
        } => {
            job.phase().hub.ran_once(i, (index, handler), *result);
            return None;
        }
        SyncPoint::Settle { index, here } => job.phase().hub.settle(i, index, here, stop).await,
        SyncPoint::Throttle {
            index,
            handler,
            limit,
        } => {
            job.phase()
                .hub
                .throttle(i, (index, handler), limit, stop)
                .await
        }
        SyncPoint::Release { index, handler } => {
            job.phase().hub.release(i, (index, handler));
            return None;
        }
        SyncPoint::Inventory { change } => job.change_inventory(i, change),
        SyncPoint::Fetch {
            dest,
            content,
            dir_msg,
        } => super::fetched::write(&dest, &content, dir_msg.as_deref()),
        SyncPoint::Lookup(call) => {
            let play = &job.plays[job.phase().dag.nodes[i].play];
            let (dir, secrets) = (play.dir.clone(), job.secrets.clone());
            let gave =
                tokio::task::spawn_blocking(move || super::lookups::answer(*call, &dir, &secrets))
                    .await
                    .unwrap_or_else(|e| {
                        dr_agent::wire::LookupAnswer::Error(format!(
                            "the lookup did not finish: {e}"
                        ))
                    });
            Answer::Looked { gave }
        }
        SyncPoint::Delegate(delegation) => {
            let result = match base {
                Some(base) => super::delegate::run(job, i, base, *delegation, sink, stop).await,
                None => dr_agent::wire::Shared::failed(
                    &delegation.to,
                    "a delegated task the controller did not send (a bug in dr)".into(),
                ),
            };
            Answer::Delegated { result }
        }
    })
}

/// How long a node may take to end after a kill before it is given up on.
const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The end of a play as the agent reported it.
struct Finished {
    stats: Stats,
    error: Option<String>,
    facts: Map<String, Value>,
    host_facts: Map<String, Value>,
    interrupted: bool,
}

fn build_request(
    job: &NodeJob,
    play: &PlaySpec,
    play_hosts: &[String],
    node: &crate::dag::DagNode,
) -> Result<Request, String> {
    let host = node.host.as_str();
    // A host added during the run (`add_host`) has its cached facts read now.
    job.load_cached_facts(host).map_err(|e| e.to_string())?;
    let NodeVars {
        vars,
        hostvars,
        play_vars,
        above_facts,
        keyword_connection,
    } = node_vars(job, play, play_hosts, node, host)?;
    // The request carries `hostvars` and the batch's lists shared; what the controller
    // renders here reads them in `vars`, as the agent will.
    let full = RenderVars::new(&vars, &hostvars, &play_vars);
    let mut tasks = play.tasks.clone();
    super::includes::resolve(play, &mut tasks, &full).map_err(|d| d.to_string())?;
    let mut handlers = play.handlers.clone();
    super::includes::resolve(play, &mut handlers, &full).map_err(|d| d.to_string())?;
    super::inline_vault::open(&mut tasks, &job.secrets);
    super::inline_vault::open(&mut handlers, &job.secrets);
    if super::run_once::templated(&tasks, &handlers) {
        // The batch's other hosts render it too: dr runs it only when they agree.
        let others = |other: &str| {
            let theirs = node_vars(job, play, play_hosts, node, other).ok()?;
            let vars = RenderVars::new(&theirs.vars, &theirs.hostvars, &theirs.play_vars);
            let (mut tasks, mut handlers) = (play.tasks.clone(), play.handlers.clone());
            super::includes::resolve(play, &mut tasks, &vars).ok()?;
            super::includes::resolve(play, &mut handlers, &vars).ok()?;
            Some(super::run_once::rendered(&tasks, &handlers, vars.get()))
        };
        super::run_once::resolve(
            &mut tasks,
            &mut handlers,
            full.get(),
            host,
            &node.batch,
            others,
        )?;
    }
    if job.mode == Mode::Apply && !job.yes {
        // Files named by a templated include were not shown before the run, nor the plays
        // whose hosts were chosen during it, so a destructive step in them could not be
        // confirmed: refuse rather than run it.
        let deferred = job.deferred_from.is_some_and(|d| node.play >= d);
        let dynamic = tasks
            .iter()
            .chain(&handlers)
            .flat_map(dr_agent::wire::Task::walk)
            .filter(|t| deferred || t.include_file.is_some())
            .flat_map(|t| {
                let inner = t.block.iter().flat_map(dr_agent::wire::Task::walk);
                deferred.then_some(t).into_iter().chain(inner)
            });
        for task in dynamic {
            if let Some(what) = super::confirm::is_destructive(&task.module, &task.args) {
                let place = if deferred {
                    "in a play whose hosts were chosen during the run (after `add_host`/`group_by`)"
                } else {
                    "in a file named by a templated include"
                };
                return Err(format!(
                    "`{}` ({}) {what}, {place}, so it was not confirmed before the run; review it with `dr plan`, then run `dr apply --yes`",
                    task.name.clone().unwrap_or_else(|| task.module.clone()),
                    task.location
                ));
            }
        }
    }
    let lookups =
        super::lookups::resolve(&mut tasks, &mut handlers, &full, &play.dir, &job.secrets);
    let play_become = play
        .become_
        .then(|| play.become_user.clone().unwrap_or_else(|| "root".into()));
    let bridge_key = crate::bridge::host_key(host, &vars, play_become.as_deref());
    let mut bridged = crate::bridge::attach(&mut tasks, &bridge_key)?;
    bridged.extend(crate::bridge::attach(&mut handlers, &bridge_key)?);
    let all_tasks: Vec<_> = tasks
        .iter()
        .chain(handlers.iter())
        .flat_map(dr_agent::wire::Task::walk)
        .collect();
    let mut files = files::collect(&all_tasks, &full, &play.dir, &job.secrets);
    files.extend(super::include_vars::collect(
        &all_tasks,
        &full,
        play,
        &job.secrets,
    )?);
    if let Some(names) = job.reading_hostvars.get(node.play) {
        super::sync_marks::mark(&mut tasks, names, &files);
    }
    let (tasks, handlers) = job.shared_tasks.share(node.play, (tasks, handlers));
    Ok(Request {
        protocol: PROTOCOL_VERSION,
        host: host.to_owned(),
        mode: job.mode,
        diff: job.diff,
        diff_mode: job.diff_mode,
        play: Play {
            name: play.name.clone(),
            tasks,
            handlers,
            // As Ansible: the play's keyword, else the command line's.
            force_handlers: play.force_handlers.unwrap_or(job.force_handlers),
            max_fail_percentage: play.max_fail_percentage,
            become_: play_become,
            become_method: play.become_method.clone(),
        },
        vars,
        hostvars: Some(hostvars),
        play_vars: Some(play_vars),
        extra_vars: job.vars.extra().keys().cloned().collect(),
        unreachable: None,
        facts: job.facts_of(host),
        host_facts: job
            .host_facts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned()
            .unwrap_or_default(),
        above_facts,
        files,
        python_plugins: crate::bridge::plugins::names(),
        tags: job.tags.clone(),
        skip_tags: job.skip_tags.clone(),
        secrets: job.secrets.to_vec(),
        vaulted: job.secrets.vaulted(),
        consent: job.consent,
        lookups,
        bridged,
        callback: job.callback,
        invocation: job.callback && crate::output::verbosity() >= 3,
        missing_handler_warns: job.missing_handler_warns,
        allow_broken_conditionals: job.allow_broken_conditionals,
        // The transport says whom it started the agent as, and how it reached the host.
        agent_user: None,
        login: None,
        keyword_connection,
    })
}

/// A host's variables for its request.
struct NodeVars {
    /// Its own (`hostvars` a null in its place).
    vars: Map<String, Value>,
    /// The `hostvars` its request carries, shared with other hosts' requests.
    hostvars: SharedVars,
    /// `groups` and the play's host lists, shared with its batch's other requests.
    play_vars: SharedVars,
    /// The names from the play's level or above.
    above_facts: Vec<String>,
    /// The connection variables only the play's keywords set.
    keyword_connection: Vec<String>,
}

/// The variables of `host`'s request for `play` (`node`'s play; `host` is `node`'s host or
/// another of its batch).
fn node_vars(
    job: &NodeJob,
    play: &PlaySpec,
    play_hosts: &[String],
    node: &crate::dag::DagNode,
    host: &str,
) -> Result<NodeVars, String> {
    // The inventory as `add_host`/`group_by` left it, for the plays after them.
    let live = job.live.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = live.as_ref().unwrap_or(&job.inventory);
    let mut vars = job
        .vars
        .for_node(inventory, play, host, &job.secrets)
        .map_err(|d| d.to_string())?;
    let play_vars = job
        .play_vars
        .get_or_build(node.play, play_hosts, &node.batch, || match live.as_ref() {
            Some(live) => live.groups_var(),
            None => job.vars.groups().clone(),
        });
    // Their places (as in Ansible, they beat extra vars: `-e` cannot set them).
    for name in super::play_vars::NAMES {
        vars.insert(name.into(), Value::Null);
    }
    let above_facts = job.vars.above_facts(play, &vars, &job.secrets);
    let dir = std::path::absolute(&play.dir).unwrap_or_else(|_| play.dir.clone());
    let hostvars = job
        .hostvars
        .get_or_build(&dir, || run_hostvars(job, play, inventory, live.as_ref()))?;
    drop(live);
    let mut keyword_connection = Vec::new();
    for (k, v) in &play.connection_vars {
        if !vars.contains_key(k) {
            vars.insert(k.clone(), v.clone());
            keyword_connection.push(k.clone());
        }
    }
    Ok(NodeVars {
        vars,
        hostvars,
        play_vars,
        above_facts,
        keyword_connection,
    })
}

/// `hostvars` as of now for `play`: the inventory's (`inventory`, `live` when
/// `add_host`/`group_by` changed it), with every host's facts gathered and set and results
/// registered in the plays that ended.
fn run_hostvars(
    job: &NodeJob,
    play: &PlaySpec,
    inventory: &Inventory,
    live: Option<&Inventory>,
) -> Result<SharedVars, String> {
    let base = job
        .vars
        .hostvars_for_play(inventory, play, &job.secrets)
        .map_err(|d| d.to_string())?;
    let gathered = job.host_facts.lock().unwrap_or_else(|p| p.into_inner());
    let set = job.facts.lock().unwrap_or_else(|p| p.into_inner());
    if live.is_none() && gathered.values().chain(set.values()).all(Map::is_empty) {
        return Ok(base);
    }
    let mut hostvars = base.map().clone();
    if let Some(live) = live {
        for h in live.hosts() {
            let names = Value::from(live.group_names(&h.name));
            match hostvars.get_mut(&h.name) {
                Some(Value::Object(entry)) => {
                    entry.insert("group_names".into(), names);
                }
                _ => {
                    let mut entry = live.host_vars(&h.name);
                    entry.insert("inventory_hostname".into(), Value::from(h.name.clone()));
                    entry.insert("group_names".into(), names);
                    hostvars.insert(h.name.clone(), Value::Object(entry));
                }
            }
        }
    }
    // Other hosts' facts (gathered, then set) and registered results from the plays before
    // this one.
    for (other, facts) in gathered.iter().chain(set.iter()) {
        match hostvars.get_mut(other) {
            Some(Value::Object(entry)) => entry.extend(facts.clone()),
            _ => {
                hostvars.insert(other.clone(), Value::Object(facts.clone()));
            }
        }
    }
    Ok(SharedVars::new(hostvars))
}
