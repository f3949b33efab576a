//! `--format ansible`: what ansible-core 2.19's `default` stdout callback prints, so that
//! scripts reading ansible-playbook's output keep working: `PLAY [...]` and `TASK [...]`
//! banners, `ok: [host]`, `changed: [host] => (item=...)`, `skipping: [host]`,
//! `fatal: [host]: FAILED! => {...}`, `...ignoring`, `RUNNING HANDLER [...]`, `META:` lines
//! (`-vv`), results as JSON (`-v`, and always for `debug`), and `PLAY RECAP`.
//!
//! The agents send each result as Ansible's callback gets it (see the agent's
//! `engine/callback.rs`). dr runs hosts in parallel: a banner is printed again when another
//! task's lines came in between, so every result line sits under its own task's banner.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dr_agent::mask::Masker;
use dr_agent::wire::{Event, Status};
use serde_json::{Map, Value};

use super::pyjson::{dumps, py_str};
use crate::dag::Dag;
use crate::run::{Outcome, RunEvent};

/// Ansible's terminal width when stdout is not a terminal (`Display.columns`).
const COLUMNS: usize = 79;

/// Modules that are action plugins in Ansible: their failures read "Action failed".
const ACTIONS: &[&str] = &[
    "fail",
    "assert",
    "debug",
    "set_fact",
    "include_vars",
    "add_host",
    "group_by",
    "set_stats",
    "pause",
    "meta",
    "validate_argument_spec",
];

/// A task banner: the play, handler or task, the index, the title.
type BannerKey = (usize, bool, usize, String);

/// Counters of `PLAY RECAP`, with Ansible's meaning (`ok` counts changed results too).
#[derive(Debug, Default, Clone, Copy)]
struct Recap {
    ok: u32,
    changed: u32,
    unreachable: u32,
    failed: u32,
    skipped: u32,
    rescued: u32,
    ignored: u32,
}

/// The task a node is running, and what its loop's items came to so far.
struct Current {
    key: BannerKey,
    handler: bool,
    title: String,
    items: Option<Items>,
}

/// A loop's items so far.
#[derive(Default)]
struct Items {
    failed: bool,
    changed: bool,
    all_skipped: bool,
    ignored: bool,
    action: String,
    location: String,
}

#[derive(Default)]
struct NodeState {
    current: Option<Current>,
    /// Failures counted in the recap (a block's `rescue` takes some back at the end).
    failures: u32,
}

/// Prints run events as ansible-playbook does.
pub struct AnsiblePrinter {
    masker: Masker,
    verbosity: u8,
    diff: bool,
    playbooks: Vec<PathBuf>,
    /// Each play's name, templated.
    play_names: Vec<String>,
    announced_books: HashSet<usize>,
    /// Plays whose banner was printed.
    announced_plays: HashSet<usize>,
    /// The warnings printed so far: Ansible prints each text once per run.
    warned: HashSet<String>,
    last_play: Option<usize>,
    last_banner: Option<BannerKey>,
    nodes: HashMap<usize, NodeState>,
    recap: BTreeMap<String, Recap>,
    /// `ANSIBLE_DEBUG`: print Ansible's debug lines for the implicit handler flushes.
    debug: bool,
}

/// What one event prints, on stdout and on stderr (warnings).
#[derive(Debug, Default)]
pub struct Shown {
    /// For stdout.
    pub out: String,
    /// For stderr.
    pub err: String,
}

impl AnsiblePrinter {
    /// A printer at `-v` level `verbosity`, showing diffs when `diff` (`--diff`), with the
    /// plays' names as rendered (`play_names`, by play index; the DAG's where missing).
    pub fn new(
        masker: Masker,
        verbosity: u8,
        diff: bool,
        playbooks: &[PathBuf],
        play_names: Vec<String>,
    ) -> Self {
        AnsiblePrinter {
            masker,
            verbosity,
            diff,
            playbooks: playbooks.to_vec(),
            play_names,
            announced_books: HashSet::new(),
            announced_plays: HashSet::new(),
            warned: HashSet::new(),
            last_play: None,
            last_banner: None,
            nodes: HashMap::new(),
            recap: BTreeMap::new(),
            debug: false,
        }
    }

    /// What `event` prints.
    pub fn render(&mut self, dag: &Dag, event: &RunEvent) -> Shown {
        let mut shown = Shown::default();
        match event {
            RunEvent::NodeStarted { node } => {
                let play = dag.nodes[*node].play;
                self.nodes.entry(*node).or_default();
                self.play_banner(dag, play, &mut shown.out);
            }
            RunEvent::Agent { node, event } => self.agent_event(dag, *node, event, &mut shown),
            RunEvent::Synced { .. } => {}
            RunEvent::NodeFinished { node, outcome } => {
                self.finish_loop(dag, *node, &mut shown.out);
                self.node_finished(dag, *node, outcome, &mut shown.out);
            }
        }
        shown
    }

    /// `PLAY RECAP`, each host's counters (after the plays no host matched, if any are left).
    pub fn summary(&mut self, dag: &Dag) -> String {
        let mut out = String::new();
        self.no_hosts_matched(dag, dag.plays.len(), &mut out);
        out.push_str(&banner("PLAY RECAP"));
        for (host, t) in &self.recap {
            let _ = writeln!(
                out,
                "{host:<26} : {} {} {} {} {} {} {}",
                count("ok", t.ok),
                count("changed", t.changed),
                count("unreachable", t.unreachable),
                count("failed", t.failed),
                count("skipped", t.skipped),
                count("rescued", t.rescued),
                count("ignored", t.ignored),
            );
        }
        out.push('\n');
        out
    }

    /// The plays before `upto` that no host matched: their banner and Ansible's
    /// `skipping: no hosts matched`.
    fn no_hosts_matched(&mut self, dag: &Dag, upto: usize, out: &mut String) {
        for play in 0..upto.min(dag.plays.len()) {
            let info = &dag.plays[play];
            if info.hosts.is_empty() && !info.deferred && !self.announced_plays.contains(&play) {
                self.play_banner(dag, play, out);
                out.push_str("skipping: no hosts matched\n");
            }
        }
    }

    fn play_banner(&mut self, dag: &Dag, play: usize, out: &mut String) {
        if self.last_play == Some(play) {
            return;
        }
        if !self.announced_plays.contains(&play) {
            self.no_hosts_matched(dag, play, out);
        }
        self.announced_plays.insert(play);
        let info = &dag.plays[play];
        if self.verbosity > 1
            && self.announced_books.insert(info.book)
            && let Some(path) = self.playbooks.get(info.book)
        {
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push_str(&banner(&format!("PLAYBOOK: {base}")));
            let plays = dag.plays.iter().filter(|p| p.book == info.book).count();
            let _ = writeln!(out, "{plays} plays in {}", path.display());
        }
        let name = self.play_names.get(play).unwrap_or(&info.name);
        let name = self.masker.mask(name.trim()).into_owned();
        out.push_str(&banner(&if name.is_empty() {
            "PLAY".to_owned()
        } else {
            format!("PLAY [{name}]")
        }));
        self.last_play = Some(play);
        self.last_banner = None;
    }

    /// With `debug` (`ANSIBLE_DEBUG`), also prints Ansible's debug lines for the implicit
    /// handler flushes.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Prints the banner of the task `node` runs, unless it is the last one printed.
    fn task_banner(&mut self, dag: &Dag, node: usize, location: Option<&str>, out: &mut String) {
        let play = dag.nodes[node].play;
        self.play_banner(dag, play, out);
        let Some(cur) = self.nodes.get(&node).and_then(|n| n.current.as_ref()) else {
            return;
        };
        if self.last_banner.as_ref() == Some(&cur.key) {
            return;
        }
        let prefix = if cur.handler {
            "RUNNING HANDLER"
        } else {
            "TASK"
        };
        out.push_str(&banner(&format!("{prefix} [{}]", cur.title)));
        if self.verbosity > 1
            && let Some(path) = location.and_then(task_path)
        {
            let _ = writeln!(out, "task path: {path}");
        }
        self.last_banner = Some(cur.key.clone());
    }

    fn recap(&mut self, dag: &Dag, node: usize) -> &mut Recap {
        self.recap.entry(dag.nodes[node].host.clone()).or_default()
    }

    fn agent_event(&mut self, dag: &Dag, node: usize, event: &Event, shown: &mut Shown) {
        match event {
            Event::TaskStart {
                index,
                handler,
                title,
                ..
            } => {
                self.finish_loop(dag, node, &mut shown.out);
                let play = dag.nodes[node].play;
                let current = title.as_ref().map(|t| Current {
                    key: (play, *handler, *index, t.clone()),
                    handler: *handler,
                    title: self.masker.mask(t.trim()).into_owned(),
                    items: None,
                });
                self.nodes.entry(node).or_default().current = current;
            }
            Event::TaskResult {
                status,
                item,
                ignored,
                on,
                result: Some(result),
                diffs,
                ..
            } => {
                let has_task = self.nodes.get(&node).is_some_and(|n| n.current.is_some());
                if !has_task {
                    return; // an implicit task: Ansible does not show it
                }
                let host = &dag.nodes[node].host;
                let label = match on {
                    Some(other) if other != host => format!("{host} -> {other}"),
                    _ => host.clone(),
                };
                let result = match self.masker.mask_value(&Value::Object((**result).clone())) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                let r = Res {
                    status: *status,
                    ignored: *ignored,
                    host: label,
                    result,
                };
                // A result's warnings go to stderr before it, each text once per run, as
                // Ansible's callback shows them (`_handle_warnings`).
                for warning in r.warnings() {
                    if self.warned.insert(warning.to_owned()) {
                        let _ = writeln!(shown.err, "[WARNING]: {warning}");
                    }
                }
                let out = &mut shown.out;
                if self.diff && *status == Status::Changed {
                    let location = r.location().map(str::to_owned);
                    self.task_banner(dag, node, location.as_deref(), out);
                    for d in diffs {
                        out.push_str(&self.masker.mask(&d.text));
                        if !d.text.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                if let Some((word, jid)) = r.str("_dr_async").and_then(|l| l.split_once(' ')) {
                    // Ansible's async callback, once polling ended.
                    self.task_banner(dag, node, r.location(), out);
                    let _ = writeln!(out, "ASYNC {word} on {}: {jid}", dag.nodes[node].host);
                }
                if let Some(meta) = r.str("_dr_meta") {
                    self.task_banner(dag, node, r.location(), out);
                    if self.verbosity > 1 {
                        let _ = writeln!(out, "META: {meta}");
                    }
                    if r.status == Status::Skipped {
                        self.line(&r, format!("skipping: [{}]", r.host), out);
                    }
                } else if item.is_some() && r.str("_dr_include").is_none() {
                    // An include's item is an `included:` line, as one without a loop.
                    self.item(dag, node, &r, item.as_deref().unwrap_or_default(), out);
                } else {
                    self.task_result(dag, node, &r, out);
                }
            }
            Event::TaskResult { .. } | Event::Sync { .. } | Event::Finished { .. } => {}
            Event::Flushing if self.debug => {
                // Ansible's debug line: its process id and the time, then the message.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let _ = writeln!(
                    shown.out,
                    "{:>6} {}.{:05}: META: triggered running handlers for {}",
                    std::process::id(),
                    now.as_secs(),
                    now.subsec_micros() / 10,
                    dag.nodes[node].host
                );
            }
            Event::Flushing => {}
            Event::Message { text } => {
                // Warnings go to stderr, as Ansible's; `debug` output is in its result.
                let text = self.masker.mask(text);
                if text.starts_with("[WARNING]") || text.starts_with("[DEPRECATION WARNING]") {
                    let _ = writeln!(shown.err, "{text}");
                }
            }
        }
    }

    /// A task's result (no loop).
    fn task_result(&mut self, dag: &Dag, node: usize, r: &Res, out: &mut String) {
        self.task_banner(dag, node, r.location(), out);
        let include = r.str("_dr_include");
        match r.status {
            Status::Failed => {
                self.error_block(r, out);
                let word = if r.result.get("unreachable") == Some(&Value::Bool(true)) {
                    "UNREACHABLE!"
                } else {
                    "FAILED!"
                };
                let _ = writeln!(
                    out,
                    "fatal: [{}]: {word} => {}",
                    r.host,
                    self.dump(r, false)
                );
                if r.ignored {
                    out.push_str("...ignoring\n");
                }
            }
            Status::Skipped => self.line(r, format!("skipping: [{}]", r.host), out),
            Status::Ok if include.is_some() => {
                let mut line = format!(
                    "included: {} for {}",
                    included_path(r.location(), include.unwrap_or_default()),
                    r.host.split(" -> ").next().unwrap_or_default()
                );
                if let Some(label) = r.str("_ansible_item_label") {
                    let _ = write!(line, " => (item={label})");
                }
                let _ = writeln!(out, "{line}");
            }
            Status::Ok if r.is_include() => {}
            Status::Ok => self.line(r, format!("ok: [{}]", r.host), out),
            Status::Changed => self.line(r, format!("changed: [{}]", r.host), out),
        }
        let changed = r.changed();
        let rescue = self.count(dag, node, r.status, r.ignored, changed);
        if let Some(state) = self.nodes.get_mut(&node) {
            state.failures += rescue;
        }
    }

    /// One loop item's result.
    fn item(&mut self, dag: &Dag, node: usize, r: &Res, dr_label: &str, out: &mut String) {
        self.task_banner(dag, node, r.location(), out);
        let label = r.item_label().unwrap_or_else(|| dr_label.to_owned());
        match r.status {
            Status::Failed => {
                self.error_block(r, out);
                let _ = writeln!(
                    out,
                    "failed: [{}] (item={label}) => {}",
                    r.host,
                    self.dump(r, false)
                );
            }
            Status::Skipped => {
                self.line(r, format!("skipping: [{}] => (item={label}) ", r.host), out)
            }
            Status::Ok => self.line(r, format!("ok: [{}] => (item={label})", r.host), out),
            Status::Changed => {
                self.line(r, format!("changed: [{}] => (item={label})", r.host), out)
            }
        }
        let Some(cur) = self.nodes.get_mut(&node).and_then(|n| n.current.as_mut()) else {
            return;
        };
        let items = cur.items.get_or_insert_with(|| Items {
            all_skipped: true,
            action: r.action().to_owned(),
            location: r.location().unwrap_or_default().to_owned(),
            ..Items::default()
        });
        items.failed |= r.status == Status::Failed;
        items.changed |= r.changed();
        items.all_skipped &= r.status == Status::Skipped;
        items.ignored |= r.ignored;
    }

    /// The end of a loop: its counters, and the lines Ansible prints after the items.
    fn finish_loop(&mut self, dag: &Dag, node: usize, out: &mut String) {
        let Some(items) = self
            .nodes
            .get_mut(&node)
            .and_then(|n| n.current.as_mut())
            .and_then(|c| c.items.take())
        else {
            return;
        };
        let host = dag.nodes[node].host.clone();
        let status = if items.failed {
            Status::Failed
        } else if items.all_skipped {
            Status::Skipped
        } else if items.changed {
            Status::Changed
        } else {
            Status::Ok
        };
        if status == Status::Skipped {
            self.task_banner(dag, node, Some(&items.location), out);
            let mut result = Map::new();
            result.insert("changed".into(), Value::Bool(false));
            result.insert("msg".into(), Value::from("All items skipped"));
            result.insert("_dr_action".into(), Value::from(items.action.clone()));
            let r = Res {
                status,
                ignored: false,
                host: host.clone(),
                result,
            };
            self.line(&r, format!("skipping: [{host}]"), out);
        }
        if items.failed && items.ignored {
            self.task_banner(dag, node, Some(&items.location), out);
            out.push_str("...ignoring\n");
        }
        let failures = self.count(dag, node, status, items.ignored, items.changed);
        if let Some(state) = self.nodes.get_mut(&node) {
            state.failures += failures;
        }
    }

    /// Counts one task's result as Ansible's strategy does; returns the failures counted.
    fn count(
        &mut self,
        dag: &Dag,
        node: usize,
        status: Status,
        ignored: bool,
        changed: bool,
    ) -> u32 {
        let t = self.recap(dag, node);
        match status {
            Status::Failed if ignored => {
                t.ok += 1;
                t.ignored += 1;
                t.changed += u32::from(changed);
            }
            Status::Failed => {
                t.failed += 1;
                return 1;
            }
            Status::Skipped => t.skipped += 1,
            Status::Ok | Status::Changed => {
                t.ok += 1;
                t.changed += u32::from(changed || status == Status::Changed);
            }
        }
        0
    }

    fn node_finished(&mut self, dag: &Dag, node: usize, outcome: &Outcome, out: &mut String) {
        let host = dag.nodes[node].host.clone();
        let counted = self.nodes.get(&node).map_or(0, |n| n.failures);
        match outcome {
            Outcome::Unreachable(reason, _) => {
                let mut result = Map::new();
                result.insert("changed".into(), Value::Bool(false));
                result.insert("msg".into(), Value::from(self.masker.mask(reason)));
                result.insert("unreachable".into(), Value::Bool(true));
                let _ = writeln!(
                    out,
                    "fatal: [{host}]: UNREACHABLE! => {}",
                    dumps(&Value::Object(result), None)
                );
                self.recap(dag, node).unreachable += 1;
            }
            Outcome::UnreachableIgnored(..) => {
                let t = self.recap(dag, node);
                t.ok += 1;
                t.ignored += 1;
            }
            Outcome::Failed { stats, error } => {
                if counted == 0 {
                    // The play failed on the host outside any task (the request could not
                    // be built, the agent could not start).
                    let mut result = Map::new();
                    result.insert("changed".into(), Value::Bool(false));
                    result.insert("msg".into(), Value::from(self.masker.mask(error)));
                    let _ = writeln!(
                        out,
                        "fatal: [{host}]: FAILED! => {}",
                        dumps(&Value::Object(result), None)
                    );
                    self.recap(dag, node).failed += 1;
                }
                self.rescued(dag, node, stats.rescued, counted);
            }
            Outcome::Ok(stats) | Outcome::Interrupted(stats) => {
                self.rescued(dag, node, stats.rescued, counted)
            }
            Outcome::Skipped(_) => {}
        }
    }

    /// Failures a block's `rescue` handled count as `rescued`, not `failed`.
    fn rescued(&mut self, dag: &Dag, node: usize, rescued: u32, counted: u32) {
        if rescued == 0 {
            return;
        }
        let t = self.recap(dag, node);
        let back = rescued.min(counted);
        t.failed -= back.min(t.failed);
        t.rescued += rescued;
    }

    /// `line`, followed by the result at `-v` (or always, for `debug`).
    fn line(&self, r: &Res, mut line: String, out: &mut String) {
        let overridden = r.result.get("_ansible_verbose_override") == Some(&Value::Bool(true));
        if (self.verbosity > 0 || r.verbose_always()) && !overridden {
            let _ = write!(line, " => {}", self.dump(r, true));
        }
        let _ = writeln!(out, "{line}");
    }

    /// The result as Ansible's `_dump_results` shows it.
    fn dump(&self, r: &Res, _verbose: bool) -> String {
        let indent = (r.verbose_always() || self.verbosity > 2).then_some(4);
        let mut shown: Map<String, Value> = r
            .result
            .iter()
            .filter(|(k, _)| !k.starts_with("_ansible") && !k.starts_with("_dr_"))
            .filter(|(k, _)| !matches!(k.as_str(), "failed" | "skipped"))
            .filter(|(k, _)| self.verbosity >= 3 || !matches!(k.as_str(), "invocation" | "diff"))
            .filter(|(k, _)| !matches!(k.as_str(), "exception" | "warnings" | "deprecations"))
            // A loop over no items: the callback hands a looped result's items on and drops
            // them from what it shows.
            .filter(|(k, v)| {
                !(r.status == Status::Skipped
                    && k.as_str() == "results"
                    && v.as_array().is_some_and(Vec::is_empty))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if r.action() == "debug" {
            // Ansible's `_clean_results`: debug shows what it was asked to show.
            if shown.contains_key("msg") {
                shown.retain(|k, _| k == "msg");
            } else {
                for k in ["changed", "failed", "skipped", "invocation", "skip_reason"] {
                    shown.remove(k);
                }
            }
        }
        // Bytes (`!!binary`) as Ansible's display shows them.
        dumps(
            &dr_agent::pybytes::for_display(&Value::Object(shown)).0,
            indent,
        )
    }

    /// Ansible 2.19's `[ERROR]: Task failed: ...` block before a failure, with the task's
    /// origin and the lines that lead to it.
    fn error_block(&self, r: &Res, out: &mut String) {
        let msg = r.str("msg").unwrap_or_default();
        let kind = if ACTIONS.contains(&r.action()) {
            "Action"
        } else {
            "Module"
        };
        let _ = writeln!(out, "[ERROR]: Task failed: {kind} failed: {msg}");
        let Some((path, line, col)) = r.location().and_then(split_location) else {
            out.push('\n');
            return;
        };
        let _ = writeln!(out, "Origin: {}:{line}:{col}\n", path.display());
        if let Ok(text) = std::fs::read_to_string(&path) {
            let first = line.saturating_sub(2).max(1);
            let width = line.to_string().len();
            for (n, text) in text
                .lines()
                .enumerate()
                .skip(first - 1)
                .take(line + 1 - first)
            {
                let _ = writeln!(out, "{:>width$} {}", n + 1, self.masker.mask(text));
            }
            let _ = writeln!(out, "{}^ column {col}", " ".repeat(width + col));
        }
        out.push('\n');
    }
}

/// One result with what the printer reads of it.
struct Res {
    status: Status,
    ignored: bool,
    host: String,
    result: Map<String, Value>,
}

impl Res {
    fn str(&self, key: &str) -> Option<&str> {
        self.result.get(key).and_then(Value::as_str)
    }

    /// The result's `warnings`, as text.
    fn warnings(&self) -> impl Iterator<Item = &str> {
        self.result
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    fn action(&self) -> &str {
        self.str("_dr_action").unwrap_or_default()
    }

    fn location(&self) -> Option<&str> {
        self.str("_dr_location")
    }

    fn changed(&self) -> bool {
        self.result.get("changed").and_then(Value::as_bool) == Some(true)
            || self.status == Status::Changed
    }

    fn is_include(&self) -> bool {
        matches!(self.action(), "include_tasks" | "include_role")
    }

    fn verbose_always(&self) -> bool {
        self.result.get("_ansible_verbose_always") == Some(&Value::Bool(true))
    }

    /// The loop item's label, as Ansible's `_get_item_label`.
    fn item_label(&self) -> Option<String> {
        if self.result.get("_ansible_no_log").and_then(Value::as_bool) == Some(true) {
            return Some("(censored due to no_log)".into());
        }
        if let Some(label) = self.result.get("_ansible_item_label") {
            return Some(py_str(label));
        }
        let var = self.str("ansible_loop_var")?;
        self.result.get(var).map(py_str)
    }
}

/// `name=value` padded as Ansible's recap (`%s=%-4s`).
fn count(name: &str, n: u32) -> String {
    format!("{name}={n:<4}")
}

/// Ansible's banner: a blank line, the text, stars up to the terminal's width.
fn banner(msg: &str) -> String {
    let msg = msg.trim();
    let width = msg.chars().count();
    let stars = COLUMNS.saturating_sub(width).max(3);
    format!("\n{msg} {}\n", "*".repeat(stars))
}

/// `file:line:col` as (absolute file, line, column).
fn split_location(loc: &str) -> Option<(PathBuf, usize, usize)> {
    let mut parts = loc.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = Path::new(parts.next()?);
    let file = if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(file)
    };
    Some((file, line, col))
}

/// Ansible's `task path: file:line`.
fn task_path(loc: &str) -> Option<String> {
    split_location(loc).map(|(file, line, _)| format!("{}:{line}", file.display()))
}

/// The file an include names, as Ansible shows it: found beside the including file.
fn included_path(location: Option<&str>, file: &str) -> String {
    let beside = location
        .and_then(split_location)
        .and_then(|(at, _, _)| Some(at.parent()?.join(file)))
        .filter(|p| p.is_file());
    match beside {
        Some(p) => p.display().to_string(),
        None => file.to_owned(),
    }
}
