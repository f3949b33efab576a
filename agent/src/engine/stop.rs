//! Stopping a play from outside: "stop after the current task" (the engine checks between
//! tasks) and "kill now" (the processes the play started are killed with their process
//! groups). One [`Stop`] per play; the engine makes it current on its thread so the code
//! that spawns processes can register them without the handle being passed down.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

const RUN: u8 = 0;
const AFTER_TASK: u8 = 1;
const KILL: u8 = 2;

/// A play's stop switch, shared between the engine and whoever may stop it.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    level: AtomicU8,
    /// Process groups of the children running now (each child leads its own group).
    groups: Mutex<Vec<i32>>,
}

impl Stop {
    /// A switch that nothing has pulled yet.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Finish the running task, start no other: the play ends as interrupted.
    pub fn after_task(&self) {
        let _ =
            self.inner
                .level
                .compare_exchange(RUN, AFTER_TASK, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Kill the running task's processes now (with their process groups), and start
    /// nothing else. Whatever the engine reports afterwards is moot.
    pub fn kill(&self) {
        self.inner.level.store(KILL, Ordering::SeqCst);
        let groups = self
            .inner
            .groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for pgid in groups {
            kill_group(pgid);
        }
    }

    /// Whether the play must start nothing new.
    pub fn requested(&self) -> bool {
        self.inner.level.load(Ordering::SeqCst) != RUN
    }

    /// Whether the play was killed (its last results are those of killed processes).
    pub fn killed(&self) -> bool {
        self.inner.level.load(Ordering::SeqCst) == KILL
    }

    fn track(&self, pgid: i32) {
        let mut groups = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.push(pgid);
        drop(groups);
        // Killed between the spawn and the registration: this child must not live on.
        if self.killed() {
            kill_group(pgid);
        }
    }

    fn untrack(&self, pgid: i32) {
        let mut groups = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.retain(|g| *g != pgid);
    }

    /// Runs `f` with this switch current on this thread (for [`track`]).
    pub(super) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        let result = f();
        CURRENT.with(|c| c.replace(previous));
        result
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Stop>> = const { RefCell::new(None) };
}

/// Registers a child process that leads its own process group (spawned with
/// `process_group(0)`), so a kill reaches it and everything it started. The registration
/// ends when the guard is dropped: keep it until the child has been waited for.
pub fn track(pid: u32) -> Tracked {
    let stop = CURRENT.with(|c| c.borrow().clone());
    let pgid = i32::try_from(pid).unwrap_or(0);
    if let Some(stop) = &stop
        && pgid > 0
    {
        stop.track(pgid);
    }
    Tracked { stop, pgid }
}

/// A registered child; dropping it ends the registration.
#[must_use = "the child is only tracked while the guard lives"]
pub struct Tracked {
    stop: Option<Stop>,
    pgid: i32,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.untrack(self.pgid);
        }
    }
}

fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn kill_reaches_a_tracked_group_and_its_children() {
        let stop = Stop::new();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        let _tracked = stop.enter(|| track(child.id()));
        let started = Instant::now();
        assert!(!stop.requested());
        stop.kill();
        assert!(stop.requested() && stop.killed());
        child.wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn after_task_does_not_downgrade_a_kill() {
        let stop = Stop::new();
        stop.kill();
        stop.after_task();
        assert!(stop.killed());
        // Outside a play nothing is tracked, and nothing breaks.
        let guard = track(1);
        assert!(guard.stop.is_none());
    }
}
