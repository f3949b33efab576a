//! The live line on a terminal: which hosts are running, their current task, for how long.
//! Redrawn in place; erased before any other output so it never mixes with results.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use dr_agent::mask::Masker;
use dr_agent::wire::Event;

use crate::dag::Dag;
use crate::run::RunEvent;

/// Tracks running nodes and draws the status line.
pub struct Progress {
    live: bool,
    masker: Masker,
    running: BTreeMap<usize, (String, Option<String>, Instant)>,
    shown: bool,
}

impl Progress {
    /// Live only when stdout is a terminal and the output is text.
    pub fn new(text: bool, masker: Masker) -> Self {
        Progress {
            live: text
                && std::io::stdout().is_terminal()
                && std::env::var_os("DR_NO_PROGRESS").is_none(),
            masker,
            running: BTreeMap::new(),
            shown: false,
        }
    }

    /// Whether anything is drawn at all.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Updates the running set from an event.
    pub fn observe(&mut self, dag: &Dag, event: &RunEvent) {
        match event {
            RunEvent::NodeStarted { node } => {
                self.running
                    .insert(*node, (dag.nodes[*node].host.clone(), None, Instant::now()));
            }
            RunEvent::Agent {
                node,
                event: Event::TaskStart { name, .. },
            } => {
                if let Some(entry) = self.running.get_mut(node) {
                    entry.1 = Some(self.masker.mask(name).into_owned());
                }
            }
            RunEvent::NodeFinished { node, .. } => {
                self.running.remove(node);
            }
            RunEvent::Agent { .. } | RunEvent::Synced { .. } => {}
        }
    }

    /// Text that erases the line, if one is shown.
    pub fn erase(&mut self) -> &'static str {
        if self.live && self.shown {
            self.shown = false;
            "\r\x1b[2K"
        } else {
            ""
        }
    }

    /// The status line to draw (without newline), or nothing.
    pub fn draw(&mut self) -> String {
        if !self.live || self.running.is_empty() {
            return String::new();
        }
        let width = terminal_width();
        let mut line = format!("⠿ {} running:", self.running.len());
        for (host, task, since) in self.running.values() {
            let task = task.as_deref().unwrap_or("connecting");
            line.push_str(&format!(
                " {host} · {task} ({:.1}s) |",
                since.elapsed().as_secs_f64()
            ));
        }
        line.pop();
        let line: String = line.chars().take(width.saturating_sub(1)).collect();
        self.shown = true;
        format!("\x1b[2m{line}\x1b[0m")
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}
