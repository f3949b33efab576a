//! What the scheduler reports while a run goes: node starts and ends, and the agent's
//! events, each stamped with the controller's UTC clock.

use dr_agent::wire::{Event, Stats};
use time::OffsetDateTime;

/// How a node ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The play ran to the end on the host.
    Ok(Stats),
    /// A task failed (the play stopped on this host).
    Failed {
        /// Counters up to the failure.
        stats: Stats,
        /// The failing task's message.
        error: String,
    },
    /// The host could not be reached, or the agent could not run, or the connection was
    /// lost mid-play. The counters are what the agent reported before that.
    Unreachable(String, Stats),
    /// The host could not be reached, and the play says `ignore_unreachable`: the plays
    /// after it go on. The counters are what the agent reported before that.
    UnreachableIgnored(String, Stats),
    /// Not run because a node it depends on did not succeed.
    Skipped(String),
    /// Stopped by the operator: never started, or cut short (after its running task on a
    /// first Ctrl-C, at once on a kill). The counters are what the agent reported.
    Interrupted(Stats),
}

impl Outcome {
    /// True when dependents may run.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Ok(_) | Outcome::UnreachableIgnored(..))
    }

    /// A short word for summaries and the journal.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Failed { .. } => "failed",
            Outcome::Unreachable(..) => "unreachable",
            Outcome::UnreachableIgnored(..) => "unreachable_ignored",
            Outcome::Skipped(_) => "skipped",
            Outcome::Interrupted(_) => "interrupted",
        }
    }

    /// Counters, where the node ran.
    pub fn stats(&self) -> Stats {
        match self {
            Outcome::Ok(s)
            | Outcome::Failed { stats: s, .. }
            | Outcome::Interrupted(s)
            | Outcome::Unreachable(_, s)
            | Outcome::UnreachableIgnored(_, s) => *s,
            Outcome::Skipped(_) => Stats::default(),
        }
    }

    /// The reason, where there is one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed { error, .. } => Some(error),
            Outcome::Unreachable(r, _)
            | Outcome::UnreachableIgnored(r, _)
            | Outcome::Skipped(r) => Some(r),
            Outcome::Ok(_) => None,
            Outcome::Interrupted(_) => Some("interrupted"),
        }
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A node was handed to its transport.
    NodeStarted {
        /// Node index in the DAG.
        node: usize,
    },
    /// The agent said something.
    Agent {
        /// Node index.
        node: usize,
        /// What it said.
        event: Event,
    },
    /// A node passed a sync point (`docs/cross-host.md`): what it waited for, and how long.
    Synced {
        /// Node index.
        node: usize,
        /// `barrier`, `run_once`, `throttle`, `delegate_to <host>`, ...
        what: String,
        /// Depth-first index of the task (for a barrier, `run_once`, `throttle`; a
        /// handler's position for a handler's).
        index: Option<usize>,
        /// Milliseconds from the host's arrival to the answer.
        waited_ms: u64,
    },
    /// A node ended (also for skipped and interrupted nodes, which never started).
    NodeFinished {
        /// Node index.
        node: usize,
        /// How.
        outcome: Outcome,
    },
}

/// A run event with the time the controller saw it.
#[derive(Debug, Clone)]
pub struct Stamped {
    /// When (UTC).
    pub at: OffsetDateTime,
    /// What.
    pub event: RunEvent,
}

impl Stamped {
    /// Stamps `event` now.
    pub fn now(event: RunEvent) -> Self {
        Stamped {
            at: OffsetDateTime::now_utc(),
            event,
        }
    }
}
