//! What an agent reported for one node so far: counters from its task results, and the
//! task it was running. The agent's own counters come with the end of its play; a node cut
//! off before that (killed, connection lost) still has these.

use std::collections::BTreeMap;

use dr_agent::wire::{Event, Stats, Status};

/// One node's reported tasks.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Per task (index, handler): the worst status reported (over loop items).
    tasks: BTreeMap<(usize, bool), Status>,
    /// The task started last and its name, while no result for it has come.
    running: Option<(usize, bool, String)>,
}

impl Tally {
    /// Whether the agent reported nothing yet.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.running.is_none()
    }

    /// Takes one agent event into account.
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::TaskStart {
                index,
                handler,
                name,
                ..
            } => self.running = Some((*index, *handler, name.clone())),
            Event::TaskResult {
                index,
                handler,
                status,
                ..
            } => {
                let key = (*index, *handler);
                let worst = self.tasks.get(&key).map_or(*status, |s| worse(*s, *status));
                self.tasks.insert(key, worst);
                if self
                    .running
                    .as_ref()
                    .is_some_and(|(i, h, _)| (*i, *h) == key)
                {
                    self.running = None;
                }
            }
            Event::Message { .. }
            | Event::Finished { .. }
            | Event::Sync { .. }
            | Event::Flushing => {}
        }
    }

    /// Counters over the tasks reported so far.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        for status in self.tasks.values() {
            match status {
                Status::Ok => stats.ok += 1,
                Status::Changed => stats.changed += 1,
                Status::Failed => stats.failed += 1,
                Status::Skipped => stats.skipped += 1,
            }
        }
        stats
    }

    /// The task that started and reported no result: (index, handler, name).
    pub fn running(&self) -> Option<&(usize, bool, String)> {
        self.running.as_ref()
    }
}

fn worse(a: Status, b: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Skipped => 0,
        Status::Ok => 1,
        Status::Changed => 2,
        Status::Failed => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(index: usize, status: &str) -> Event {
        let line = serde_json::json!({
            "event": "task_result", "index": index, "name": format!("t{index}"),
            "status": status, "duration_ms": 1
        });
        Event::from_line(&line.to_string()).unwrap()
    }

    #[test]
    fn counts_tasks_and_knows_the_running_one() {
        let mut t = Tally::default();
        for e in [
            Event::TaskStart {
                index: 0,
                handler: false,
                name: "a".into(),
                title: None,
            },
            result(0, "changed"),
            Event::TaskStart {
                index: 1,
                handler: false,
                name: "b".into(),
                title: None,
            },
            result(1, "ok"),
            result(1, "changed"),
            Event::TaskStart {
                index: 2,
                handler: false,
                name: "c".into(),
                title: None,
            },
        ] {
            t.observe(&e);
        }
        let s = t.stats();
        assert_eq!((s.ok, s.changed), (0, 2));
        assert_eq!(t.running().map(|r| r.2.as_str()), Some("c"));
    }
}
