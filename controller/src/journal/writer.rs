//! Appending journal lines as the run goes, so even a crashed run leaves its record: each
//! line is written through at once, and synced to disk at node boundaries (a killed `dr`
//! loses nothing it wrote; a crashed machine at most the lines of running nodes).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use dr_agent::mask::Masker;
use dr_agent::wire::Event;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::timestamp;
use crate::dag::Dag;
use crate::run::{Outcome, RunEvent, Stamped, Tally};

/// Writes one run's journal.
pub struct JournalWriter {
    path: PathBuf,
    out: BufWriter<File>,
    masker: Masker,
    /// Per node, what its agent reported so far.
    tallies: HashMap<usize, Tally>,
}

impl JournalWriter {
    /// Creates `<dir>/<UTC timestamp>-<name>.jsonl`, or `<...>-<name>~<nnnn>.jsonl` when a run
    /// started in the same millisecond took that name (never overwrites, never collides).
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
        let (path, file) = create_unique(dir, &format!("{stamp}-{safe}"))?;
        // The new name itself must survive a crash.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(JournalWriter {
            path,
            out: BufWriter::new(file),
            masker,
            tallies: HashMap::new(),
        })
    }

    /// What node `node`'s agent reported so far (counted from its task results).
    pub fn reported(&self, node: usize) -> dr_agent::wire::Stats {
        self.tallies
            .get(&node)
            .map(Tally::stats)
            .unwrap_or_default()
    }

    /// Pushes what was written to disk (a node boundary, the run's start and end).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
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
                self.close_running(stamped.at, node_fields(*node), *node, outcome)?;
                let mut f = node_fields(*node);
                f["outcome"] = json!(outcome.word());
                f["reason"] = json!(outcome.reason());
                f["stats"] = json!(self.node_stats(*node, outcome));
                ("node_end", f)
            }
            RunEvent::Agent { node, event } => match event {
                Event::TaskStart {
                    index,
                    handler,
                    name,
                    ..
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
                    on,
                    detail,
                    ..
                } => {
                    let mut f = node_fields(*node);
                    f["task"] = json!(name);
                    if let Some(on) = on {
                        f["on"] = json!(on);
                    }
                    f["index"] = json!(index);
                    f["handler"] = json!(handler);
                    f["item"] = json!(item);
                    f["status"] = json!(status);
                    f["msg"] = json!(msg);
                    f["dangerous"] = json!(dangerous);
                    f["changed_targets"] =
                        json!(diffs.iter().map(|d| d.target.clone()).collect::<Vec<_>>());
                    f["duration_ms"] = json!(duration_ms);
                    // What a restore gave back (`recovery_point`): the report's RPO.
                    if let Some(rpo) = detail.get("rpo") {
                        f["rpo"] = rpo.clone();
                    }
                    // A task that retried (`until`/`retries`): the report's findings.
                    if let Some(attempts) = detail.get("attempts") {
                        f["attempts"] = attempts.clone();
                    }
                    ("task_end", f)
                }
                Event::Message { text } => {
                    let mut f = node_fields(*node);
                    f["text"] = json!(text);
                    ("message", f)
                }
                Event::Finished { .. } | Event::Sync { .. } | Event::Flushing => return Ok(()),
            },
            RunEvent::Synced {
                node,
                what,
                index,
                waited_ms,
            } => {
                let mut f = node_fields(*node);
                f["what"] = json!(what);
                f["index"] = json!(index);
                f["waited_ms"] = json!(waited_ms);
                ("sync", f)
            }
        };
        if let RunEvent::Agent { node, event } = &stamped.event {
            self.tallies.entry(*node).or_default().observe(event);
        }
        if fields.is_null() {
            fields = json!({});
        }
        self.line(stamped.at, kind, fields)?;
        if matches!(kind, "node_start" | "node_end") {
            self.sync()?;
        }
        Ok(())
    }

    /// The node's counters: the agent's own when its play reached its end, else those of
    /// the results it reported before it was cut off.
    fn node_stats(&self, node: usize, outcome: &Outcome) -> dr_agent::wire::Stats {
        let own = outcome.stats();
        match outcome {
            Outcome::Ok(_) | Outcome::Failed { .. } => own,
            _ if own != Default::default() => own,
            _ => self.reported(node),
        }
    }

    /// A node that ended while a task was running (killed, connection lost): that task
    /// gets its end line, saying what is known.
    fn close_running(
        &mut self,
        at: OffsetDateTime,
        mut fields: Value,
        node: usize,
        outcome: &Outcome,
    ) -> std::io::Result<()> {
        let (status, msg) = match outcome {
            Outcome::Interrupted(_) => ("interrupted", "killed when the run was interrupted"),
            Outcome::Unreachable(..) | Outcome::UnreachableIgnored(..) => (
                "unknown",
                "the connection was lost while it ran: whether it finished on the host is unknown",
            ),
            _ => return Ok(()),
        };
        let Some((index, handler, name)) =
            self.tallies.get(&node).and_then(Tally::running).cloned()
        else {
            return Ok(());
        };
        fields["task"] = json!(name);
        fields["index"] = json!(index);
        fields["handler"] = json!(handler);
        fields["status"] = json!(status);
        fields["msg"] = json!(msg);
        self.line(at, "task_end", fields)
    }
}

/// Creates `<base>.jsonl`, else `<base>~0002.jsonl`, `<base>~0003.jsonl`, ... (`~` sorts
/// after `.`, so a later run of the same millisecond also sorts later).
fn create_unique(dir: &Path, base: &str) -> std::io::Result<(PathBuf, File)> {
    let mut n = 1u32;
    loop {
        let path = match n {
            1 => dir.join(format!("{base}.jsonl")),
            _ => dir.join(format!("{base}~{n:04}.jsonl")),
        };
        match File::options().create_new(true).write(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_started_in_the_same_millisecond_get_their_own_journal() {
        let dir = tempfile::tempdir().unwrap();
        let at = OffsetDateTime::now_utc();
        let masker = Masker::new(&[]);
        let a = JournalWriter::create(dir.path(), "site", at, masker.clone()).unwrap();
        let b = JournalWriter::create(dir.path(), "site", at, masker.clone()).unwrap();
        let c = JournalWriter::create(dir.path(), "site", at, masker).unwrap();
        assert_ne!(a.path(), b.path());
        let mut names = vec![c.path(), a.path(), b.path()];
        names.sort();
        assert_eq!(
            names,
            vec![a.path(), b.path(), c.path()],
            "later runs sort later"
        );
    }
}
