//! `--list-tasks`, `--list-tags`, `--list-hosts`: what ansible-playbook prints for them,
//! without connecting to any host.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use dr_agent::engine::tags_selected;
use dr_agent::wire::{Task, TaskKind};
use serde_json::Value;

use super::pyjson::py_str;
use crate::dag::Dag;
use crate::playbook::Playbook;

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing {
    /// `--list-tasks`.
    pub tasks: bool,
    /// `--list-tags`.
    pub tags: bool,
    /// `--list-hosts`.
    pub hosts: bool,
}

impl Listing {
    /// Whether anything is to be listed (then nothing runs).
    pub fn any(&self) -> bool {
        self.tasks || self.tags || self.hosts
    }

    /// The listing of `books` (their plays are `dag`'s, in order), with the tasks
    /// `--tags` (`only`) and `--skip-tags` (`skip`) select.
    pub fn render(
        &self,
        books: &[Playbook],
        dag: &Dag,
        only: &[String],
        skip: &[String],
    ) -> String {
        // As ansible-playbook: listing tags with none asked for lists every tag, `never`
        // tasks' included.
        let every = ["never".to_owned(), "all".to_owned()];
        let only = if self.tags && only.is_empty() && skip.is_empty() {
            &every[..]
        } else {
            only
        };
        let mut out = String::new();
        let mut global = 0;
        for book in books {
            let _ = writeln!(out, "\nplaybook: {}", book.path.display());
            for (idx, play) in book.plays.iter().enumerate() {
                let patterns: Vec<&str> = play
                    .hosts
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                let _ = write!(
                    out,
                    "\n  play #{} ({}): {}\tTAGS: [{}]",
                    idx + 1,
                    patterns.join(","),
                    play.name,
                    play.tags
                        .iter()
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(",")
                );
                if self.hosts {
                    let hosts = dag
                        .plays
                        .get(global)
                        .map(|p| p.hosts.clone())
                        .unwrap_or_default();
                    let pattern =
                        Value::from(patterns.iter().map(|p| Value::from(*p)).collect::<Vec<_>>());
                    let _ = write!(
                        out,
                        "\n    pattern: {}\n    hosts ({}):",
                        py_str(&pattern),
                        hosts.len()
                    );
                    for h in &hosts {
                        let _ = write!(out, "\n      {h}");
                    }
                }
                out.push('\n');
                if self.tasks || self.tags {
                    let mut all_tags = BTreeSet::new();
                    let mut lines = String::new();
                    if self.tasks {
                        lines.push_str("    tasks:\n");
                    }
                    // Fact gathering is not listed, as in Ansible.
                    for task in play.tasks.iter().skip(usize::from(play.gather_facts)) {
                        list(
                            task,
                            only,
                            skip,
                            &play.tags,
                            self.tasks,
                            &mut all_tags,
                            &mut lines,
                        );
                    }
                    if self.tags {
                        all_tags.extend(play.tags.iter().cloned());
                        let tags: Vec<String> = all_tags.into_iter().collect();
                        let _ = writeln!(lines, "      TASK TAGS: [{}]", tags.join(", "));
                    }
                    // Ansible's `display` ends the text with a newline unless it has one.
                    out.push_str(&lines);
                    if !lines.ends_with('\n') {
                        out.push('\n');
                    }
                }
                global += 1;
            }
        }
        out
    }
}

/// Lists `task` (and what a block holds, not its `rescue` or `always`, as Ansible).
fn list(
    task: &Task,
    only: &[String],
    skip: &[String],
    play_tags: &[String],
    tasks: bool,
    all_tags: &mut BTreeSet<String>,
    out: &mut String,
) {
    if task.kind == TaskKind::Block {
        for t in &task.block {
            list(t, only, skip, play_tags, tasks, all_tags, out);
        }
        return;
    }
    if task.implicit || !selected(task, only, skip) {
        return;
    }
    all_tags.extend(task.tags.iter().cloned());
    if !tasks {
        return;
    }
    let tags: BTreeSet<&String> = task.tags.iter().chain(play_tags).collect();
    let tags: Vec<&str> = tags.into_iter().map(String::as_str).collect();
    let name = match &task.name {
        // The controller names an unnamed include `include_tasks: file`; Ansible lists the
        // action.
        Some(n)
            if task.kind == TaskKind::Include && n.starts_with(&format!("{}: ", task.module)) =>
        {
            task.module.clone()
        }
        Some(n) => match task.vars.get("role_name").and_then(Value::as_str) {
            Some(role) => format!("{role} : {n}"),
            None => n.clone(),
        },
        None => task.module.clone(),
    };
    let _ = writeln!(out, "      {name}\tTAGS: [{}]", tags.join(", "));
}

/// Whether the listing shows `task`: as a run selects it.
fn selected(task: &Task, only: &[String], skip: &[String]) -> bool {
    tags_selected(&task.tags, only, skip)
}
