//! Appending journal lines as the run goes, so even a crashed run leaves its record.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use dr_agent::mask::Masker;
use dr_agent::wire::Event;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::timestamp;
use crate::dag::Dag;
use crate::run::{RunEvent, Stamped};

/// Writes one run's journal.
pub struct JournalWriter {
    path: PathBuf,
    out: BufWriter<File>,
    masker: Masker,
}

impl JournalWriter {
    /// Creates `<dir>/<UTC timestamp>-<name>.jsonl`.
    pub fn create(
        dir: &Path,
        name: &str,
        started: OffsetDateTime,
        masker: Masker,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let stamp = timestamp(started).replace([':', '-'], "").replace('.', "-");
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{stamp}-{safe}.jsonl"));
        let file = File::options().create_new(true).write(true).open(&path)?;
        Ok(JournalWriter {
            path,
            out: BufWriter::new(file),
            masker,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line: `{"at": ..., "event": kind, ...fields}`, masked.
    pub fn line(&mut self, at: OffsetDateTime, kind: &str, fields: Value) -> std::io::Result<()> {
        let mut obj = serde_json::Map::new();
        obj.insert("at".into(), json!(timestamp(at)));
        obj.insert("event".into(), json!(kind));
        if let Value::Object(f) = self.masker.mask_value(&fields) {
            obj.extend(f);
        }
        serde_json::to_writer(&mut self.out, &Value::Object(obj))?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Records the DAG: plays, nodes and their stages.
    pub fn dag(&mut self, at: OffsetDateTime, dag: &Dag) -> std::io::Result<()> {
        let stage_of = |i: usize| {
            dag.stages
                .iter()
                .position(|s| s.contains(&i))
                .map_or(0, |s| s + 1)
        };
        let nodes: Vec<Value> = dag
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"node": i, "play": dag.plays[n.play].name, "host": n.host, "stage": stage_of(i)}))
            .collect();
        self.line(
            at,
            "dag",
            json!({"stages": dag.stages.len(), "nodes": nodes}),
        )
    }

    /// Records a run event.
    pub fn event(&mut self, dag: &Dag, stamped: &Stamped) -> std::io::Result<()> {
        let node_fields = |i: usize| {
            let n = &dag.nodes[i];
            json!({"node": i, "play": dag.plays[n.play].name, "host": n.host})
        };
        let (kind, mut fields) = match &stamped.event {
            RunEvent::NodeStarted { node } => ("node_start", node_fields(*node)),
            RunEvent::NodeFinished { node, outcome } => {
                let mut f = node_fields(*node);
                f["outcome"] = json!(outcome.word());
                f["reason"] = json!(outcome.reason());
                f["stats"] = json!(outcome.stats());
                ("node_end", f)
            }
            RunEvent::Agent { node, event } => match event {
                Event::TaskStart {
                    index,
                    handler,
                    name,
                } => {
                    let mut f = node_fields(*node);
                    f["task"] = json!(name);
                    f["index"] = json!(index);
                    f["handler"] = json!(handler);
                    ("task_start", f)
                }
                Event::TaskResult {
                    index,
                    handler,
                    name,
                    item,
                    status,
                    msg,
                    diffs,
                    dangerous,
                    duration_ms,
                    ..
                } => {
                    let mut f = node_fields(*node);
                    f["task"] = json!(name);
                    f["index"] = json!(index);
                    f["handler"] = json!(handler);
                    f["item"] = json!(item);
                    f["status"] = json!(status);
                    f["msg"] = json!(msg);
                    f["dangerous"] = json!(dangerous);
                    f["changed_targets"] =
                        json!(diffs.iter().map(|d| d.target.clone()).collect::<Vec<_>>());
                    f["duration_ms"] = json!(duration_ms);
                    ("task_end", f)
                }
                Event::Message { text } => {
                    let mut f = node_fields(*node);
                    f["text"] = json!(text);
                    ("message", f)
                }
                Event::Finished { .. } => return Ok(()),
            },
        };
        if fields.is_null() {
            fields = json!({});
        }
        self.line(stamped.at, kind, fields)
    }
}
