//! The engine's side of sync points (`docs/cross-host.md`): a task that reads other hosts'
//! variables waits for the batch, a `run_once` task runs on one host for all, a delegated
//! item runs on another host, a throttled task waits for a free slot. The play sends
//! [`Event::Sync`] and waits for the controller's [`Answer`], delivered through its
//! [`Link`].

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::Runner;
use super::item::ItemResult;
use crate::template::Scope;
use crate::wire::{
    Active, Answer, Delegation, Event, InventoryChange, LookupCall, Settle, Settled, Shared,
    Status, SyncPoint, Task,
};

/// Where the controller's answers arrive. Without a controller ([`Link::none`]) the engine
/// answers itself as a play of one host would be answered.
#[derive(Debug, Clone, Default)]
pub struct Link {
    inner: Option<Arc<(Mutex<VecDeque<Answer>>, Condvar)>>,
}

impl Link {
    /// A link to a controller: answers come through [`Link::deliver`].
    pub fn connected() -> Self {
        Link {
            inner: Some(Arc::default()),
        }
    }

    /// No controller: the play is alone (a barrier passes at once, a `run_once` task runs
    /// here, delegation fails).
    pub fn none() -> Self {
        Link { inner: None }
    }

    /// Whether a controller answers.
    pub fn is_connected(&self) -> bool {
        self.inner.is_some()
    }

    /// Hands the controller's answer to the waiting play.
    pub fn deliver(&self, answer: Answer) {
        if let Some(inner) = &self.inner {
            let (queue, ready) = &**inner;
            queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back(answer);
            ready.notify_all();
        }
    }

    /// The next answer; `None` once `stopped` says the play must end.
    fn wait(&self, stopped: impl Fn() -> bool) -> Option<Answer> {
        let (queue, ready) = &**self.inner.as_ref()?;
        let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(answer) = queue.pop_front() {
                return Some(answer);
            }
            if stopped() {
                return None;
            }
            queue = ready
                .wait_timeout(queue, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// How many rounds of controller lookups one render may ask for (each answers every call
/// it made; a lookup whose terms come from another lookup needs a second round, and an
/// `assert` that stops at its first unanswered item asks once per item).
pub(super) const MAX_ASKS: usize = 32;

/// What a `run_once` sync point decided for this host.
pub(super) enum Once {
    /// Run the task here, for the batch.
    Run,
    /// Another host ran it: its result.
    Taken(Box<Shared>),
    /// The run is stopping.
    Stop,
}

impl Runner<'_> {
    /// Waits until the batch has come as far as the task at `index`, then takes the other
    /// hosts' facts into `hostvars`. `false` when the run is stopping.
    pub(super) fn barrier(&mut self, index: usize) -> bool {
        if self.link.inner.is_none() {
            return true;
        }
        let point = SyncPoint::Barrier {
            index,
            facts: self.visible_facts(),
        };
        match self.sync(point) {
            Some(Answer::Hostvars { hosts, active }) => {
                self.take_hostvars(hosts, active);
                true
            }
            _ => false,
        }
    }

    /// The `run_once` decision for the task at `index` (or for `handler`, run at the
    /// flush of that task).
    pub(super) fn run_once(&mut self, index: usize, handler: Option<usize>) -> Once {
        if self.link.inner.is_none() {
            return Once::Run;
        }
        let point = SyncPoint::RunOnce {
            index,
            handler,
            facts: self.visible_facts(),
        };
        match self.sync(point) {
            Some(Answer::Run { hosts, active }) => {
                self.take_hostvars(hosts, active);
                Once::Run
            }
            Some(Answer::Shared {
                result,
                hosts,
                active,
            }) => {
                self.take_hostvars(hosts, active);
                Once::Taken(Box::new(result))
            }
            _ => Once::Stop,
        }
    }

    /// Waits for one of the `limit` slots of the throttled task at `index` (a handler's
    /// position when `handler`). `false` when the run is stopping.
    pub(super) fn take_slot(&mut self, index: usize, handler: bool, limit: u32) -> bool {
        if self.link.inner.is_none() {
            return true;
        }
        let point = SyncPoint::Throttle {
            index,
            handler,
            limit,
        };
        matches!(self.sync(point), Some(Answer::Go))
    }

    /// Gives back the slot [`Runner::take_slot`] took (no answer).
    pub(super) fn free_slot(&mut self, index: usize, handler: bool) {
        if self.link.inner.is_some() {
            self.emit(Event::Sync {
                point: Box::new(SyncPoint::Release { index, handler }),
            });
        }
    }

    /// Settles the task at `index` with the batch (`any_errors_fatal`,
    /// `max_fail_percentage`, `meta: end_play`, `meta: clear_host_errors`): what this host
    /// does next. `None` when the run is stopping.
    pub(super) fn settle(&mut self, index: usize, here: Settle) -> Option<Settled> {
        if self.link.inner.is_none() {
            // Alone: its own failure already ends its play.
            return Some(if here.end_play || here.end_batch {
                Settled::End {
                    by: self.request.host.clone(),
                }
            } else if here.clear_host_errors {
                Settled::Cleared
            } else {
                Settled::Go
            });
        }
        match self.sync(SyncPoint::Settle { index, here }) {
            Some(Answer::Settled { then }) => Some(then),
            Some(Answer::Failed { msg }) => Some(Settled::Fail { msg }),
            _ => None,
        }
    }

    /// Hands a file `fetch` read to the controller, which writes it; the result says what
    /// it did, as Ansible's `fetch` reports it.
    pub(super) fn hand_off(&mut self, handoff: Map<String, Json>, result: &mut ItemResult) {
        let text = |k: &str| {
            handoff
                .get(k)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let remote = text("checksum");
        let point = SyncPoint::Fetch {
            dest: text("dest"),
            content: text("content"),
            dir_msg: handoff
                .get("dir_msg")
                .and_then(Json::as_str)
                .map(str::to_owned),
        };
        let answer = if self.link.inner.is_none() {
            Some(Answer::Failed {
                msg: "`fetch` needs the controller, which writes the file".into(),
            })
        } else {
            self.sync(point)
        };
        match answer {
            Some(Answer::Fetched {
                changed,
                checksum,
                md5sum,
            }) => {
                let validate = handoff
                    .get("validate_checksum")
                    .and_then(Json::as_bool)
                    .unwrap_or(true);
                if validate && checksum != remote {
                    *result = ItemResult::failed("checksum mismatch".into());
                    return;
                }
                result.status = if changed { Status::Changed } else { Status::Ok };
                result
                    .register
                    .insert("changed".into(), Json::Bool(changed));
                result
                    .register
                    .insert("checksum".into(), Json::from(checksum));
                result.register.insert("md5sum".into(), Json::from(md5sum));
            }
            Some(Answer::Failed { msg }) => *result = ItemResult::failed(msg),
            _ => *result = ItemResult::failed("the run stopped before the file was written".into()),
        }
    }

    /// Asks the controller for the controller lookups the last renders called that no
    /// answer covered, with `task`'s variables (`scope`). `true` when it answered any: what
    /// failed for want of them may run again.
    pub(super) fn ask_lookups(&mut self, task: &Task, scope: &Scope) -> bool {
        let pending = self.lookups.take_pending();
        if pending.is_empty() || self.link.inner.is_none() {
            return false;
        }
        let mut shallow = task.clone();
        shallow.block.clear();
        shallow.rescue.clear();
        shallow.always.clear();
        for call in pending {
            let point = SyncPoint::Lookup(Box::new(LookupCall {
                name: call.name.clone(),
                terms: call.terms.clone(),
                kwargs: call.kwargs.clone(),
                task: shallow.clone(),
                vars: scope.all_vars(),
            }));
            match self.sync(point) {
                Some(Answer::Looked { gave }) => self.lookups.answer(&call, gave),
                Some(Answer::Failed { msg }) => self
                    .lookups
                    .answer(&call, crate::wire::LookupAnswer::Error(msg)),
                _ => return false,
            }
        }
        true
    }

    /// `f`, run again after asking the controller for the lookups its renders called
    /// (for `task`, with `scope`'s variables) while it fails for want of them. For what
    /// the engine renders itself (loops, an include's `when` and file name): nothing acts
    /// before these renders, so running them again is safe.
    pub(super) fn answering<T, E>(
        &mut self,
        task: &Task,
        scope: &Scope,
        mut f: impl FnMut(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.lookups.new_item();
        for _ in 0..MAX_ASKS {
            self.lookups.begin();
            match f(self) {
                Err(_) if self.ask_lookups(task, scope) => {}
                done => return done,
            }
        }
        f(self)
    }

    /// Tells the controller what the `run_once` task this host ran gave.
    pub(super) fn ran_once(&mut self, index: usize, handler: Option<usize>, result: Shared) {
        if self.link.inner.is_some() {
            self.emit(Event::Sync {
                point: Box::new(SyncPoint::RanOnce {
                    index,
                    handler,
                    result: Box::new(result),
                }),
            });
        }
    }

    /// Runs one item of `task` on this host over a connection of its own, made with the
    /// connection variables `scope` changed (as Ansible connects again for such a task).
    pub(super) fn reconnect(&mut self, task: &Task, scope: &Scope) -> ItemResult {
        let me = self.request.host.clone();
        self.hand_over(task, &me, scope, true)
    }

    /// The item's variables for a reconnection: its connection variables rendered (the
    /// controller connects with them), and those its connection keywords stand for.
    fn reconnect_vars(&self, task: &Task, scope: &Scope) -> Map<String, Json> {
        let mut vars = scope.all_vars();
        for name in super::connection_vars::names() {
            if let Some(v) = vars.get(&name).cloned()
                && let Ok(rendered) = scope.render_value(&v)
            {
                vars.insert(name, rendered);
            }
        }
        vars.extend(super::connection_vars::keyword_vars(
            task,
            self.request,
            scope,
        ));
        vars
    }

    /// Runs one item of `task` on host `to` with this item's variables (`scope`).
    pub(super) fn delegate(&mut self, task: &Task, to: &str, scope: &Scope) -> ItemResult {
        self.hand_over(task, to, scope, false)
    }

    fn hand_over(&mut self, task: &Task, to: &str, scope: &Scope, reconnect: bool) -> ItemResult {
        if self.link.inner.is_none() {
            return ItemResult::failed(format!(
                "`delegate_to: {to}` needs the controller, which runs the task on `{to}`"
            ));
        }
        let mut task = task.clone();
        task.when.clear();
        task.loop_ = None;
        task.loop_with = None;
        task.delegate_to = None;
        task.run_once = false;
        task.sync = false;
        // This host holds the task's slot: the delegated run takes none.
        task.throttle = None;
        task.notify.clear();
        let raw: Vec<String> = scope.raw_names().iter().cloned().collect();
        let vars = if reconnect {
            self.reconnect_vars(&task, scope)
        } else {
            scope.all_vars()
        };
        let point = SyncPoint::Delegate(Box::new(Delegation {
            to: to.to_owned(),
            task,
            vars,
            raw,
            reconnect,
        }));
        match self.sync(point) {
            Some(Answer::Delegated { result }) => {
                let mut item = ItemResult::from_shared(result);
                // An unreachable result has no `failed` (as Ansible's).
                if !item.register.contains_key("failed") && !item.is_unreachable() {
                    item.register
                        .insert("failed".into(), Json::Bool(item.status == Status::Failed));
                }
                item
            }
            _ => {
                let mut item = ItemResult::failed(format!(
                    "the run stopped before `{to}` ran the delegated task"
                ));
                item.on = Some(to.to_owned());
                item
            }
        }
    }

    /// Hands an inventory change (`add_host`, `group_by`) to the controller and takes the
    /// inventory it answers with (`groups`, the touched hosts' `hostvars`); the item is
    /// changed when the inventory did, as in Ansible.
    pub(super) fn change_inventory(&mut self, change: InventoryChange, result: &mut ItemResult) {
        if self.link.inner.is_none() {
            *result = ItemResult::failed(
                "`add_host`, `group_by` and `meta: refresh_inventory` change the run's inventory, which the controller keeps"
                    .into(),
            );
            return;
        }
        match self.sync(SyncPoint::Inventory { change }) {
            Some(Answer::Inventory {
                changed,
                groups,
                hosts,
                vars,
            }) => {
                // `hostvars` is kept apart (the hosts' entries below).
                self.vars
                    .extend(vars.into_iter().filter(|(k, _)| k != "hostvars"));
                self.vars.insert("groups".into(), groups);
                let me = self.request.host.clone();
                if let Some(names) = hosts.get(&me).and_then(|h| h.get("group_names")).cloned() {
                    self.vars.insert("group_names".into(), names);
                }
                if let Some(hostvars) = self.hostvars.as_mut().map(std::sync::Arc::make_mut) {
                    for (host, vars) in hosts {
                        if let (Some(Json::Object(entry)), Json::Object(vars)) =
                            (hostvars.get_mut(&host), &vars)
                        {
                            entry.extend(vars.clone());
                        } else {
                            hostvars.insert(host, vars);
                        }
                    }
                }
                result
                    .register
                    .insert("changed".into(), Json::Bool(changed));
                if changed && result.status == Status::Ok {
                    result.status = Status::Changed;
                }
            }
            Some(Answer::Failed { msg }) => *result = ItemResult::failed(msg),
            _ => {
                *result = ItemResult::failed(
                    "the run stopped before the inventory change was made".into(),
                );
            }
        }
    }

    /// Sends `point` and waits for the answer; `None` when the run stops meanwhile (the
    /// play then ends as interrupted).
    fn sync(&mut self, point: SyncPoint) -> Option<Answer> {
        self.emit(Event::Sync {
            point: Box::new(point),
        });
        let stop = self.stop.clone();
        let answer = self.link.wait(|| stop.requested());
        match answer {
            Some(Answer::Stop) | None => {
                self.interrupted = true;
                None
            }
            Some(answer) => Some(answer),
        }
    }

    /// The other hosts' facts, as of the sync point, into their `hostvars` entries; the
    /// hosts still in the play into `ansible_play_hosts` and `ansible_play_batch`.
    fn take_hostvars(&mut self, hosts: Map<String, Json>, active: Active) {
        self.vars
            .insert("ansible_play_hosts".into(), Json::from(active.play_hosts));
        self.vars
            .insert("ansible_play_batch".into(), Json::from(active.play_batch));
        if let Some(groups) = active.groups {
            self.vars.insert("groups".into(), groups);
        }
        let me = self.request.host.clone();
        let Some(hostvars) = self.hostvars.as_mut().map(std::sync::Arc::make_mut) else {
            return;
        };
        for (host, facts) in hosts {
            let (Json::Object(facts), false) = (facts, host == me) else {
                continue;
            };
            if let Some(Json::Object(entry)) = hostvars.get_mut(&host) {
                entry.extend(facts);
            } else {
                hostvars.insert(host, Json::Object(facts));
            }
        }
    }
}
