//! Parsing playbook files into [`Playbook`]s: plays, imports, task files.

use std::path::{Path, PathBuf};

use dr_agent::wire::Task;
use serde_json::Value;

use super::scalar::{bool_of, string_list, text_of};
use super::spec::{PlaySpec, Playbook, RtoTarget, parse_duration};
use super::task::{self, Parsed};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};
use crate::yaml::{self, Node};

/// Play keywords dr understands (Ansible's, plus `after` and `rto_target`).
const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "gather_facts",
    "become",
    "become_user",
    "become_method",
    "serial",
    "tasks",
    "pre_tasks",
    "post_tasks",
    "handlers",
    "after",
    "rto_target",
    "tags",
    "remote_user",
    "connection",
    "any_errors_fatal",
    "environment",
    "max_fail_percentage",
    "strategy",
    "order",
    "ignore_errors",
    "check_mode",
    "diff",
];

const MAX_IMPORT_DEPTH: usize = 32;

/// Loads a playbook file with its imports.
pub fn load(path: &Path) -> Result<Playbook, Diagnostic> {
    let mut book = Playbook {
        path: path.to_path_buf(),
        plays: Vec::new(),
        rto_target: None,
    };
    load_into(&mut book, path, &mut Vec::new())?;
    Ok(book)
}

fn load_into(book: &mut Playbook, path: &Path, stack: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if stack.contains(&canonical) || stack.len() > MAX_IMPORT_DEPTH {
        return Err(Diagnostic::new(
            Loc::file_start(path),
            format!(
                "`{}` imports itself (through `import_playbook`)",
                path.display()
            ),
        ));
    }
    stack.push(canonical);
    let root = yaml::load_file(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let items = root.as_seq().ok_or_else(|| {
        Diagnostic::new(
            root.loc.clone(),
            format!("a playbook must be a list of plays, found {}", root.kind()),
        )
        .with_help("start each play with `- name: ...` and `hosts: ...`")
    })?;
    for item in items {
        let Some(entries) = item.as_map() else {
            return Err(Diagnostic::new(
                item.loc.clone(),
                format!("a play must be a mapping, found {}", item.kind()),
            ));
        };
        let has = |k: &str| entries.iter().any(|(key, _)| key.as_str() == Some(k));
        if let Some((_, target)) = entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("import_playbook"))
        {
            let file = text_of(target, "import_playbook")?;
            load_into(book, &dir.join(file), stack)?;
        } else if has("rto_target") && !has("hosts") && entries.len() <= 2 {
            book.rto_target = rto(entries)?;
        } else {
            book.plays.push(parse_play(item, entries, &dir)?);
        }
    }
    stack.pop();
    Ok(())
}

fn rto(entries: &[(Node, Node)]) -> Result<Option<RtoTarget>, Diagnostic> {
    let Some((_, v)) = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("rto_target"))
    else {
        return Ok(None);
    };
    let text = text_of(v, "rto_target")?;
    let duration = parse_duration(&text).ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`rto_target` must be a duration like `5m` or `1h30m`, found `{text}`"),
        )
    })?;
    Ok(Some(RtoTarget { text, duration }))
}

fn parse_play(node: &Node, entries: &[(Node, Node)], dir: &Path) -> Result<PlaySpec, Diagnostic> {
    let mut play = PlaySpec {
        name: String::new(),
        loc: node.loc.clone(),
        hosts: String::new(),
        hosts_loc: node.loc.clone(),
        vars: serde_json::Map::new(),
        vars_files: Vec::new(),
        gather_facts: true,
        become_: false,
        become_user: None,
        serial: None,
        tasks: Vec::new(),
        handlers: Vec::new(),
        after: None,
        rto_target: rto(entries)?,
        tags: Vec::new(),
        dir: dir.to_path_buf(),
    };
    let mut sections: [Vec<Task>; 3] = Default::default();
    let mut has_hosts = false;
    for (key, v) in entries {
        let k = key.scalar_text().unwrap_or_default();
        match k.as_str() {
            "name" => play.name = text_of(v, "name")?,
            "hosts" => {
                play.hosts = match v.as_seq() {
                    Some(items) => items
                        .iter()
                        .map(|i| text_of(i, "hosts"))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(","),
                    None => text_of(v, "hosts")?,
                };
                play.hosts_loc = v.loc.clone();
                has_hosts = true;
            }
            "vars" => match v.to_json() {
                Value::Object(m) => play.vars = m,
                Value::Null => {}
                _ => {
                    return Err(Diagnostic::new(
                        v.loc.clone(),
                        format!("`vars` must be a mapping, found {}", v.kind()),
                    ));
                }
            },
            "vars_files" => {
                let items = v
                    .as_seq()
                    .map(<[Node]>::to_vec)
                    .unwrap_or_else(|| vec![v.clone()]);
                for item in &items {
                    play.vars_files
                        .push((text_of(item, "vars_files")?, item.loc.clone()));
                }
            }
            "gather_facts" => play.gather_facts = bool_of(v, "gather_facts")?,
            "become" => play.become_ = bool_of(v, "become")?,
            "become_user" => play.become_user = Some(text_of(v, "become_user")?),
            "serial" => play.serial = Some(v.to_json()),
            "pre_tasks" => sections[0] = tasks_of(v, dir, 0)?,
            "tasks" => sections[1] = tasks_of(v, dir, 0)?,
            "post_tasks" => sections[2] = tasks_of(v, dir, 0)?,
            "handlers" => play.handlers = tasks_of(v, dir, 0)?,
            "after" => {
                let names = match v.as_seq() {
                    Some(items) => items
                        .iter()
                        .map(|i| Ok((text_of(i, "after")?, i.loc.clone())))
                        .collect::<Result<Vec<_>, Diagnostic>>()?,
                    None if v.is_null() => Vec::new(),
                    None => vec![(text_of(v, "after")?, v.loc.clone())],
                };
                play.after = Some(names);
            }
            "tags" => play.tags = string_list(v, "tags")?,
            "rto_target"
            | "become_method"
            | "remote_user"
            | "connection"
            | "any_errors_fatal"
            | "environment"
            | "max_fail_percentage"
            | "strategy"
            | "order"
            | "ignore_errors"
            | "check_mode"
            | "diff" => {}
            "roles" => {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    "`roles` are not supported by dr yet",
                )
                .with_help("list the role's tasks with `import_tasks`"));
            }
            _ => {
                let help = did_you_mean(&k, PLAY_KEYWORDS.iter().copied())
                    .unwrap_or_else(|| format!("a play accepts: {}", PLAY_KEYWORDS.join(", ")));
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("unknown play keyword `{k}`"),
                )
                .with_help(help));
            }
        }
    }
    if !has_hosts {
        return Err(
            Diagnostic::new(node.loc.clone(), "this play has no `hosts:`")
                .with_help("add `hosts: <pattern>`, e.g. `hosts: database`"),
        );
    }
    if play.name.is_empty() {
        play.name = play.hosts.clone();
    }
    let [pre, main, post] = sections;
    let facts = play.gather_facts.then(|| Task {
        name: Some("gather facts".into()),
        module: "setup".into(),
        args: Value::Object(serde_json::Map::new()),
        location: play.loc.to_string(),
        tags: vec!["always".into()],
        ..Task::default()
    });
    play.tasks = facts
        .into_iter()
        .chain(pre)
        .chain(main)
        .chain(post)
        .collect();
    for t in play.tasks.iter_mut().chain(play.handlers.iter_mut()) {
        t.tags.extend(play.tags.iter().cloned());
    }
    Ok(play)
}

/// Parses a task list, expanding `import_tasks`/`include_tasks` relative to `dir`.
fn tasks_of(v: &Node, dir: &Path, depth: usize) -> Result<Vec<Task>, Diagnostic> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let items = v.as_seq().ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("a task list must be a list, found {}", v.kind()),
        )
    })?;
    let mut out = Vec::new();
    for item in items {
        match task::parse(item, dir)? {
            Parsed::Task(t) => out.push(*t),
            Parsed::Import {
                file,
                inherit,
                node,
            } => {
                if depth >= MAX_IMPORT_DEPTH {
                    return Err(Diagnostic::new(
                        node.loc.clone(),
                        "task imports are nested too deeply (an import loop?)",
                    ));
                }
                if file.contains("{{") {
                    return Err(Diagnostic::new(
                        node.loc.clone(),
                        "dr imports task files before running, so the file name cannot be a template",
                    ));
                }
                let path = dir.join(&file);
                let root = yaml::load_file(&path).map_err(|d| {
                    if d.message.starts_with("cannot read") {
                        Diagnostic::new(
                            node.loc.clone(),
                            format!("cannot read task file `{}`", path.display()),
                        )
                    } else {
                        d
                    }
                })?;
                let sub_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                for mut t in tasks_of(&root, &sub_dir, depth + 1)? {
                    let mut when = inherit.when.clone();
                    when.extend(std::mem::take(&mut t.when));
                    t.when = when;
                    t.tags.extend(inherit.tags.iter().cloned());
                    for (k, val) in &inherit.vars {
                        t.vars.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}
