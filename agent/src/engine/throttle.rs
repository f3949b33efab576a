//! `throttle` on the host's side (`docs/cross-host.md`): a throttled task runs while the
//! host holds one of the task's slots, which the controller hands out to the hosts of the
//! batch, first come, first served.

use serde_json::Value as Json;

use super::{Runner, TaskEnd};
use crate::wire::{Task, Throttle, ThrottleError};

impl Runner<'_> {
    /// Runs `task` as [`Runner::run_task`] does, holding one of its `throttle` slots from
    /// before it starts until after its last item, whatever its outcome. `None` when the
    /// run stops while the host waits for a slot.
    pub(super) fn run_throttled(
        &mut self,
        index: usize,
        handler: bool,
        task: &Task,
    ) -> Option<TaskEnd> {
        // Ansible's strategy runs a `meta` task itself, never queued: it is not throttled.
        if task.throttle.is_none() || task.module == "meta" {
            return Some(self.run_task(index, handler, task));
        }
        let limit = match self.throttle_slots(task) {
            Ok(Some(limit)) => limit,
            Ok(None) => return Some(self.run_task(index, handler, task)),
            Err(e) => {
                // Ansible stops the run where `int()` refuses the value; a fraction fails
                // the task as any keyword that does not validate.
                let ignorable = matches!(e, ThrottleError::Fraction(_));
                return Some(self.refuse_task(index, handler, task, &e.to_string(), ignorable));
            }
        };
        let handler_slot = handler || self.in_handler;
        if !self.take_slot(index, handler_slot, limit) {
            return None;
        }
        let end = self.run_task(index, handler, task);
        self.free_slot(index, handler_slot);
        Some(end)
    }

    /// How many hosts may run `task` at once (`None`: no limit), its template rendered
    /// with the task's variables as Ansible's strategy renders it.
    fn throttle_slots(&self, task: &Task) -> Result<Option<u32>, ThrottleError> {
        let limit = match &task.throttle {
            None => return Ok(None),
            Some(Throttle::Limit(n)) => *n,
            Some(Throttle::Template(template)) => {
                let scope = self.task_scope(task, None);
                let value = scope
                    .render_value(&Json::String(template.clone()))
                    .map_err(|e| ThrottleError::NotInteger(e.in_jinja_words()))?;
                Throttle::limit_of(&value)?
            }
        };
        Ok(Throttle::slots(limit))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{debug, finished, request, results, task};
    use super::super::{Link, Stop, run_linked};
    use crate::wire::{Answer, Event, Status, SyncPoint};

    /// The events of `tasks` run with a controller that answers every slot at once.
    fn linked(tasks: serde_json::Value, vars: serde_json::Value) -> Vec<Event> {
        let link = Link::connected();
        for _ in 0..4 {
            link.deliver(Answer::Go);
        }
        let mut out = Vec::new();
        run_linked(
            &request(tasks, json!([]), vars),
            &Stop::new(),
            &link,
            &mut |e| out.push(e),
        );
        out
    }

    /// `throttle` for sync points, `start`/`result` for the task's events.
    fn shape(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Sync { point } => match &**point {
                    SyncPoint::Throttle { index, limit, .. } => {
                        Some(format!("take {index} of {limit}"))
                    }
                    SyncPoint::Release { index, .. } => Some(format!("give {index}")),
                    _ => None,
                },
                Event::TaskStart { index, .. } => Some(format!("start {index}")),
                Event::TaskResult { index, .. } => Some(format!("result {index}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_host_holds_the_slot_for_all_the_items_of_the_task() {
        let looped = task(
            "debug",
            json!({"msg": "{{ item }}"}),
            json!({"loop": [1, 2], "throttle": "{{ n }}"}),
        );
        let events = linked(json!([debug("free"), looped]), json!({"n": "2"}));
        assert_eq!(
            shape(&events),
            [
                "start 0",
                "result 0",
                "take 1 of 2",
                "start 1",
                "result 1",
                "result 1",
                "give 1"
            ]
        );
    }

    #[test]
    fn no_limit_and_meta_tasks_take_no_slot() {
        let events = linked(
            json!([
                task("debug", json!({"msg": "x"}), json!({"throttle": 0})),
                task("debug", json!({"msg": "x"}), json!({"throttle": -3})),
                task("meta", json!("noop"), json!({"throttle": 1})),
            ]),
            json!({}),
        );
        assert!(
            shape(&events).iter().all(|s| !s.starts_with("take")),
            "{:?}",
            shape(&events)
        );
    }

    #[test]
    fn a_value_int_refuses_fails_the_task_even_with_ignore_errors() {
        let events = linked(
            json!([
                task(
                    "debug",
                    json!({"msg": "x"}),
                    json!({"throttle": "{{ n }}", "ignore_errors": true})
                ),
                debug("after"),
            ]),
            json!({"n": "abc"}),
        );
        let (stats, error) = finished(&events);
        assert_eq!(stats.failed, 1);
        let error = error.unwrap_or_default();
        assert!(
            error.starts_with("Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'abc'"),
            "{error}"
        );
        assert_eq!(results(&events).len(), 1, "the play went on");
        assert!(shape(&events).iter().all(|s| !s.starts_with("take")));
    }

    #[test]
    fn a_fraction_fails_the_task_and_ignore_errors_covers_it() {
        let events = linked(
            json!([
                task(
                    "debug",
                    json!({"msg": "x"}),
                    json!({"throttle": "{{ 2.5 }}", "ignore_errors": true})
                ),
                debug("after"),
            ]),
            json!({}),
        );
        let got = results(&events);
        assert_eq!(got[0].2, Status::Failed);
        assert!(
            got[0]
                .3
                .contains("The value 2.5 could not be converted to 'int'")
        );
        assert_eq!(got.len(), 2, "the failure was not ignored");
        assert_eq!(finished(&events).1, None);
    }
}
