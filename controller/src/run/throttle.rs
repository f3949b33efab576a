//! `throttle` on the controller (`docs/cross-host.md`): the slots of each throttled task of
//! each batch. A host asks for a slot before the task ([`SyncPoint::Throttle`]) and gives
//! it back after it ([`SyncPoint::Release`]), or when its play ends, so a host that fails,
//! is stopped or loses its connection never keeps the others waiting. Slots go to the
//! hosts in the order they asked.
//!
//! [`SyncPoint::Throttle`]: dr_agent::wire::SyncPoint::Throttle
//! [`SyncPoint::Release`]: dr_agent::wire::SyncPoint::Release

use std::collections::{HashMap, VecDeque};

/// Where a throttled task is: its depth-first index, or a handler's position when the
/// flag is set (as the agent's `TaskStart` names it).
pub type ThrottleAt = (usize, bool);

/// A throttled task of a batch: the batch's first node, and where the task is.
pub type SlotKey = (usize, ThrottleAt);

/// Every throttled task's slots, by batch.
#[derive(Debug, Default)]
pub struct Slots {
    tasks: HashMap<SlotKey, Task>,
}

/// One task's slots.
#[derive(Debug, Default)]
struct Task {
    /// The nodes running the task now.
    holders: Vec<usize>,
    /// The nodes waiting for a slot, first come first, with the limit each asked with
    /// (the value is rendered per host, so hosts may disagree).
    queue: VecDeque<(usize, u32)>,
}

impl Task {
    /// Hands free slots to the nodes at the head of the queue. The head waits while the
    /// holders are as many as its limit; those behind it wait for it (first come, first
    /// served).
    fn grant(&mut self) {
        while let Some(&(node, limit)) = self.queue.front() {
            if self.holders.len() >= limit as usize {
                break;
            }
            self.queue.pop_front();
            self.holders.push(node);
        }
    }

    fn forget(&mut self, node: usize) {
        self.holders.retain(|n| *n != node);
        self.queue.retain(|(n, _)| *n != node);
        self.grant();
    }
}

impl Slots {
    /// Node `node` asks for a slot of the task at `key`, which at most `limit` nodes run at
    /// once. Whether it holds one now (else it is queued).
    pub fn ask(&mut self, key: SlotKey, node: usize, limit: u32) -> bool {
        let task = self.tasks.entry(key).or_default();
        if !task.holders.contains(&node) && !task.queue.iter().any(|(n, _)| *n == node) {
            task.queue.push_back((node, limit.max(1)));
        }
        task.grant();
        task.holders.contains(&node)
    }

    /// Whether node `node` holds a slot of the task at `key`.
    pub fn holds(&self, key: SlotKey, node: usize) -> bool {
        self.tasks
            .get(&key)
            .is_some_and(|t| t.holders.contains(&node))
    }

    /// Node `node` gives back its slot of the task at `key`, or leaves its queue.
    pub fn release(&mut self, key: SlotKey, node: usize) {
        if let Some(task) = self.tasks.get_mut(&key) {
            task.forget(node);
        }
    }

    /// Node `node` ended: every slot it held is free, and it waits for none.
    pub fn release_node(&mut self, node: usize) {
        for task in self.tasks.values_mut() {
            task.forget(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: SlotKey = (0, (4, false));

    #[test]
    fn at_most_the_limit_hold_a_slot_and_the_others_follow_in_order() {
        let mut slots = Slots::default();
        assert!(slots.ask(AT, 0, 2));
        assert!(slots.ask(AT, 1, 2));
        assert!(!slots.ask(AT, 2, 2), "a third host ran beside two");
        assert!(!slots.ask(AT, 3, 2));
        slots.release(AT, 1);
        assert!(slots.holds(AT, 2), "the first in the queue goes next");
        assert!(!slots.holds(AT, 3));
        slots.release(AT, 0);
        assert!(slots.holds(AT, 3));
    }

    #[test]
    fn an_ended_node_frees_its_slot_and_leaves_the_queue() {
        let mut slots = Slots::default();
        assert!(slots.ask(AT, 0, 1));
        assert!(!slots.ask(AT, 1, 1));
        assert!(!slots.ask(AT, 2, 1));
        slots.release_node(1);
        slots.release_node(0);
        assert!(slots.holds(AT, 2));
        assert!(!slots.holds(AT, 1));
    }

    #[test]
    fn tasks_and_batches_have_their_own_slots() {
        let mut slots = Slots::default();
        assert!(slots.ask(AT, 0, 1));
        assert!(slots.ask((0, (5, false)), 1, 1), "another task");
        assert!(slots.ask((0, (4, true)), 1, 1), "a handler");
        assert!(slots.ask((3, (4, false)), 3, 1), "another batch");
    }
}
