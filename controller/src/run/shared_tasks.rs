//! A play's tasks as its requests carry them. The controller starts each host's request
//! from a copy of the play's tasks and renders into it what it must (dynamic include
//! names, controller lookups, inline vault values, bridged modules, sync marks); most
//! hosts' copies come out the same as the first host's, and those requests share its
//! list instead of each holding its own (~23 KB a host in the benchmark's play, all of
//! them alive at once while hundreds of connections open).
//!
//! "The same" is exact: the copy encodes, byte for byte, as the first one does, which is
//! all the agent receives of it.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use dr_agent::wire::Task;

/// Per play: its tasks and handlers shared, and their encodings to compare copies with.
#[derive(Default)]
pub struct SharedTasks {
    plays: Vec<OnceLock<Play>>,
}

struct Play {
    tasks: Shared,
    handlers: Shared,
}

struct Shared {
    list: Arc<Vec<Task>>,
    /// Its JSON; `None` when it does not encode (the copy is then never shared).
    encoded: Option<Vec<u8>>,
}

impl Shared {
    fn new(list: Vec<Task>) -> Self {
        Shared {
            encoded: serde_json::to_vec(&list).ok(),
            list: Arc::new(list),
        }
    }

    /// `copy` as a request carries it: this list when they encode the same.
    fn share(&self, copy: Vec<Task>) -> Arc<Vec<Task>> {
        match &self.encoded {
            Some(encoded) if encodes_as(&copy, encoded) => self.list.clone(),
            _ => Arc::new(copy),
        }
    }
}

impl SharedTasks {
    /// For a run of `plays` plays.
    pub fn new(plays: usize) -> Self {
        SharedTasks {
            plays: (0..plays).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The tasks and handlers of a request for play number `index` (`tasks` and
    /// `handlers` its host's copies): each list is the first request's when the copy is
    /// the same.
    pub fn share(
        &self,
        index: usize,
        (tasks, handlers): (Vec<Task>, Vec<Task>),
    ) -> (Arc<Vec<Task>>, Arc<Vec<Task>>) {
        let Some(slot) = self.plays.get(index) else {
            return (Arc::new(tasks), Arc::new(handlers));
        };
        let mut given = Some((tasks, handlers));
        let play = slot.get_or_init(|| {
            let (tasks, handlers) = given.take().unwrap_or_default();
            Play {
                tasks: Shared::new(tasks),
                handlers: Shared::new(handlers),
            }
        });
        match given {
            Some((tasks, handlers)) => (play.tasks.share(tasks), play.handlers.share(handlers)),
            // The first request's copies are the shared ones.
            None => (play.tasks.list.clone(), play.handlers.list.clone()),
        }
    }
}

/// Whether `list` encodes as `encoded`, compared as it is encoded (nothing is kept, and
/// the first difference ends it).
fn encodes_as(list: &[Task], encoded: &[u8]) -> bool {
    let mut same = Compare { rest: encoded };
    serde_json::to_writer(&mut same, list).is_ok() && same.rest.is_empty()
}

/// A writer that checks what is written against what is expected.
struct Compare<'a> {
    rest: &'a [u8],
}

impl Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.rest.strip_prefix(buf) {
            Some(rest) => {
                self.rest = rest;
                Ok(buf.len())
            }
            None => Err(std::io::Error::other("differs")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str) -> Task {
        Task {
            name: Some(name.into()),
            module: "debug".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_copy_like_the_first_is_shared_and_a_changed_one_is_its_own() {
        let shared = SharedTasks::new(2);
        let play = (vec![task("a"), task("b")], vec![task("h")]);
        let get =
            |index, tasks: Vec<Task>, handlers: Vec<Task>| shared.share(index, (tasks, handlers));
        let (one, h1) = get(0, play.0.clone(), play.1.clone());
        let (two, h2) = get(0, play.0.clone(), play.1.clone());
        assert!(Arc::ptr_eq(&one, &two));
        assert!(Arc::ptr_eq(&h1, &h2));
        // A copy the controller rendered into is the host's own.
        let mut changed = play.0.clone();
        changed[1].name = Some("b, rendered".into());
        let (mine, h3) = get(0, changed, play.1.clone());
        assert!(!Arc::ptr_eq(&mine, &one));
        assert_eq!(mine[1].name.as_deref(), Some("b, rendered"));
        assert!(Arc::ptr_eq(&h3, &h1));
        // A shorter or longer copy differs too.
        let (short, _) = get(0, play.0[..1].to_vec(), play.1.clone());
        assert_eq!(short.len(), 1);
        let mut longer = play.0.clone();
        longer.push(task("c"));
        let (long, _) = get(0, longer, play.1.clone());
        assert_eq!(long.len(), 3);
        // Another play has lists of its own.
        let (other, _) = get(1, play.0.clone(), play.1.clone());
        assert!(!Arc::ptr_eq(&other, &one));
    }
}
