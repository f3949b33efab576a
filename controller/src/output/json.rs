//! `--format json` for plan and apply: one document at the end of the run.
//!
//! Schema: `{"mode": "plan"|"apply", "exit_code", "changed", "failed_hosts", "journal",
//! "elapsed_ms", "nodes": [{"play", "host", "stage", "outcome", "reason", "stats",
//! "tasks": [{"name", "item", "status", "msg", "diffs": [{"target", "text"}],
//! "result": {"cmd", "rc", "stdout", "stderr", ...}, "duration_ms"}]}]}`. Every string is
//! masked. A failure's `msg` says why (the tail of the output, the failed condition);
//! `result` holds the fields under Ansible's names, output in full.

use dr_agent::mask::Masker;
use dr_agent::wire::Event;
use serde_json::{Value, json};

use crate::dag::Dag;
use crate::run::{Outcome, RunEvent};

/// Collects events into the JSON document.
pub struct JsonCollector {
    masker: Masker,
    nodes: Vec<Value>,
}

impl JsonCollector {
    /// A collector for `dag`.
    pub fn new(dag: &Dag, masker: Masker) -> Self {
        let stage_of = |i: usize| {
            dag.stages
                .iter()
                .position(|s| s.contains(&i))
                .map_or(0, |s| s + 1)
        };
        let nodes = dag
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"play": dag.plays[n.play].name, "host": n.host, "stage": stage_of(i), "outcome": "pending", "tasks": []}))
            .collect();
        JsonCollector { masker, nodes }
    }

    /// Takes the nodes `dag` gained (plays whose hosts were chosen after `add_host` or
    /// `group_by`); the nodes already collected keep what they hold.
    pub fn extend(&mut self, dag: &Dag) {
        let fresh = JsonCollector::new(dag, self.masker.clone());
        self.nodes
            .extend(fresh.nodes.into_iter().skip(self.nodes.len()));
    }

    /// Records one event.
    pub fn record(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Agent {
                node,
                event:
                    Event::TaskResult {
                        name,
                        item,
                        status,
                        msg,
                        diffs,
                        detail,
                        duration_ms,
                        dangerous,
                        ..
                    },
            } => {
                let task = json!({
                    "name": self.masker.mask(name),
                    "item": item.as_ref().map(|i| self.masker.mask(i).into_owned()),
                    "status": status,
                    "msg": self.masker.mask(msg),
                    "dangerous": dangerous,
                    "diffs": diffs.iter().map(|d| json!({"target": self.masker.mask(&d.target), "text": self.masker.mask(&d.text)})).collect::<Vec<_>>(),
                    // Bytes (`!!binary`) as Ansible's display shows them.
                    "result": self.masker.mask_value(
                        &dr_agent::pybytes::for_display(&Value::Object(detail.clone())).0
                    ),
                    "duration_ms": duration_ms,
                });
                if let Some(Value::Array(tasks)) = self.nodes[*node].get_mut("tasks") {
                    tasks.push(task);
                }
            }
            RunEvent::NodeFinished { node, outcome } => {
                let entry = &mut self.nodes[*node];
                entry["outcome"] = json!(outcome.word());
                entry["reason"] = json!(outcome.reason().map(|r| self.masker.mask(r).into_owned()));
                entry["stats"] = json!(outcome.stats());
            }
            _ => {}
        }
    }

    /// The final document.
    pub fn finish(
        self,
        mode: &str,
        exit_code: i32,
        changed: u32,
        outcomes: &[Outcome],
        journal: Option<&str>,
        elapsed_ms: u64,
    ) -> Value {
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed { .. } | Outcome::Unreachable(..)))
            .count();
        json!({
            "mode": mode,
            "exit_code": exit_code,
            "changed": changed,
            "failed_nodes": failed,
            "journal": journal,
            "elapsed_ms": elapsed_ms,
            "nodes": self.nodes,
        })
    }
}
