//! Parsing one play: its keywords, its sections, its roles.

use std::path::Path;

use dr_agent::wire::{Condition, Task};
use serde_json::{Map, Value};

use super::inherit::Inherit;
use super::keywords::{ANSIBLE_PLAY, PLAY_SUPPORTED};
use super::level::{Level, refused};
use super::role::RoleSearch;
use super::scalar::{bool_of, string_list, text_of};
use super::spec::{HostOrder, PlaySpec, RtoTarget, parse_duration};
use super::tasks::Builder;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::Node;

/// What an `import_playbook` passes down to the plays it imports.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// `when:` of the imports, outermost first: every task of the plays inherits them.
    pub when: Vec<Condition>,
    /// `tags:` of the imports.
    pub tags: Vec<String>,
    /// `vars:` of the imports (below the play's own vars).
    pub vars: Map<String, Value>,
}

/// Reads the `rto_target` of a play or playbook entry.
pub fn rto(entries: &[(Node, Node)]) -> Result<Option<RtoTarget>, Diagnostic> {
    target(entries, "rto_target")
}

/// Reads the `rpo_target` of a play or playbook entry.
pub fn rpo(entries: &[(Node, Node)]) -> Result<Option<RtoTarget>, Diagnostic> {
    target(entries, "rpo_target")
}

fn target(entries: &[(Node, Node)], key: &str) -> Result<Option<RtoTarget>, Diagnostic> {
    let Some((_, v)) = entries.iter().find(|(k, _)| k.as_str() == Some(key)) else {
        return Ok(None);
    };
    let text = text_of(v, key)?;
    let duration = parse_duration(&text).ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`{key}` must be a duration like `5m` or `1h30m`, found `{text}`"),
        )
    })?;
    Ok(Some(RtoTarget { text, duration }))
}

/// Parses one play mapping found in a playbook in `dir`.
pub fn parse(
    node: &Node,
    entries: &[(Node, Node)],
    dir: &Path,
    search: &RoleSearch,
    imported: &Imported,
) -> Result<PlaySpec, Diagnostic> {
    let mut play = PlaySpec {
        name: String::new(),
        loc: node.loc.clone(),
        hosts: String::new(),
        hosts_loc: node.loc.clone(),
        vars: imported.vars.clone(),
        vars_files: Vec::new(),
        gather_facts: true,
        become_: search.become_defaults.on,
        become_user: None,
        become_method: None,
        connection_vars: Map::new(),
        role_defaults: Map::new(),
        role_vars: Map::new(),
        play_roles: Vec::new(),
        dependent_roles: Vec::new(),
        force_handlers: None,
        max_fail_percentage: None,
        ignore_unreachable: false,
        strategy: None,
        order: HostOrder::Inventory,
        dynamic_includes: Vec::new(),
        role_search: search.clone(),
        serial: None,
        tasks: Vec::new(),
        handlers: Vec::new(),
        after: None,
        rto_target: rto(entries)?,
        rpo_target: rpo(entries)?,
        tags: Vec::new(),
        dir: dir.to_path_buf(),
    };
    let mut level = Level::default();
    level.inherit.when = imported.when.clone();
    let mut has_hosts = false;
    let mut sections: [Option<&Node>; 5] = Default::default();
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
                Value::Object(m) => play.vars.extend(m),
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
                    let names = match item.as_seq() {
                        Some(alternatives) => alternatives
                            .iter()
                            .map(|a| text_of(a, "vars_files"))
                            .collect::<Result<Vec<_>, _>>()?,
                        None => vec![text_of(item, "vars_files")?],
                    };
                    play.vars_files.push(super::spec::VarsFile {
                        names,
                        loc: item.loc.clone(),
                    });
                }
            }
            "gather_facts" => play.gather_facts = bool_of(v, "gather_facts")?,
            "become" => {
                play.become_ = bool_of(v, "become")?;
                level.read(key, &k, v)?;
            }
            "become_user" => {
                play.become_user = Some(text_of(v, "become_user")?);
                level.read(key, &k, v)?;
            }
            "serial" => play.serial = Some(v.to_json()),
            "pre_tasks" => sections[0] = Some(v),
            "roles" => sections[1] = Some(v),
            "tasks" => sections[2] = Some(v),
            "post_tasks" => sections[3] = Some(v),
            "handlers" => sections[4] = Some(v),
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
            "rto_target" | "rpo_target" => {}
            "remote_user" => {
                play.connection_vars
                    .insert("ansible_user".into(), Value::from(text_of(v, &k)?));
            }
            "port" => {
                play.connection_vars
                    .insert("ansible_port".into(), v.to_json());
            }
            "connection" => {
                let kind = super::level::connection_kind(&text_of(v, &k)?, v)?;
                play.connection_vars
                    .insert("ansible_connection".into(), Value::from(kind));
            }
            "strategy" => {
                let strategy = text_of(v, &k)?;
                if strategy.contains("{{") {
                    // Rendered with the play's and extra vars when the DAG is compiled.
                    play.strategy = Some((strategy, v.loc.clone()));
                } else {
                    check_strategy(&strategy, &v.loc)?;
                }
            }
            "order" => {
                play.order = match text_of(v, &k)?.as_str() {
                    "inventory" => HostOrder::Inventory,
                    "reverse_inventory" => HostOrder::ReverseInventory,
                    "sorted" => HostOrder::Sorted,
                    "reverse_sorted" => HostOrder::ReverseSorted,
                    "shuffle" => HostOrder::Shuffle,
                    other => {
                        return Err(Diagnostic::new(
                            v.loc.clone(),
                            format!("unknown `order: {other}`"),
                        )
                        .with_help(
                            "use inventory, reverse_inventory, sorted, reverse_sorted or shuffle",
                        ));
                    }
                };
            }
            "force_handlers" => play.force_handlers = Some(bool_of(v, &k)?),
            "max_fail_percentage" => {
                play.max_fail_percentage = Some(super::level::number(v, &k)?.min(100.0));
            }
            _ if PLAY_SUPPORTED.contains(&k.as_str()) && level.read(key, &k, v)? => {}
            _ if ANSIBLE_PLAY.contains(&k.as_str()) => return Err(refused(key, &k)),
            _ => {
                let help = did_you_mean(&k, PLAY_SUPPORTED.iter().copied())
                    .unwrap_or_else(|| format!("a play accepts: {}", PLAY_SUPPORTED.join(", ")));
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    // Ansible's words too, for scripts that grep ansible-playbook's error.
                    format!(
                        "unknown play keyword `{k}` ('{k}' is not a valid attribute for a Play)"
                    ),
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
    for t in imported.tags.iter().chain(play.tags.clone().iter()) {
        if !level.inherit.tags.contains(t) {
            level.inherit.tags.push(t.clone());
        }
    }
    if play.become_user.is_none() {
        play.become_user = search.become_defaults.user.clone();
    }
    let root = Inherit {
        default_become_user: search.become_defaults.user.clone(),
        play_become: play
            .become_
            .then(|| play.become_user.clone().unwrap_or_else(|| "root".into())),
        ..Inherit::default()
    };
    let root = Inherit {
        become_now: root.play_become.clone(),
        ..root
    };
    let inherit = level.enter(&root)?;
    play.become_method = inherit.become_method.clone();
    let mut builder = Builder::new(search, dir);
    let section = |b: &mut Builder<'_>, i: usize| -> Result<Vec<Task>, Diagnostic> {
        match sections[i] {
            Some(v) if i == 1 => b.roles_section(v, &inherit),
            Some(v) if i == 4 => b.handlers(v, dir, &inherit),
            Some(v) => b.tasks(v, dir, &inherit),
            None => Ok(Vec::new()),
        }
    };
    let pre = section(&mut builder, 0)?;
    let roles = section(&mut builder, 1)?;
    let main = section(&mut builder, 2)?;
    let post = section(&mut builder, 3)?;
    let own_handlers = section(&mut builder, 4)?;
    let mut facts = Task {
        // Ansible's name for it.
        name: Some("Gathering Facts".into()),
        module: "setup".into(),
        args: Value::Object(Map::new()),
        location: play.loc.to_string(),
        tags: vec!["always".into()],
        ..Task::default()
    };
    inherit.apply(&mut facts, &Default::default());
    facts.become_ = inherit.become_now.clone();
    facts.tags.retain(|t| t == "always");
    // Ansible flushes handlers after `pre_tasks`, after roles and `tasks`, and after
    // `post_tasks`.
    // A handler that fails there fails the batch when the play is `any_errors_fatal`.
    let flush = || Task {
        module: "meta".into(),
        args: Value::from("flush_handlers"),
        location: play.loc.to_string(),
        implicit: true,
        any_errors_fatal: inherit.any_errors_fatal == Some(true),
        ..Task::default()
    };
    let mut tasks: Vec<Task> = play.gather_facts.then_some(facts).into_iter().collect();
    tasks.extend(pre);
    tasks.push(flush());
    tasks.extend(roles);
    tasks.extend(main);
    tasks.push(flush());
    tasks.extend(post);
    tasks.push(flush());
    play.tasks = tasks;
    play.handlers = builder.role_handlers;
    play.handlers.extend(own_handlers);
    play.handlers.extend(builder.included_handlers);
    play.ignore_unreachable = whole_play_ignores_unreachable(&play, node)?;
    play.role_defaults = builder.role_defaults;
    play.role_vars = builder.role_vars;
    play.play_roles = builder.play_roles;
    play.dependent_roles = builder.dependent_roles;
    play.dynamic_includes = builder.dynamic;
    Ok(play)
}

/// dr connects once per play and host, so `ignore_unreachable` is honoured for a whole
/// node: every task of the play that runs on the host must have it (set on the play, or on
/// each task); a delegated task's, or that of a task whose own `vars` set a connection
/// variable, is honoured for that task.
fn whole_play_ignores_unreachable(play: &PlaySpec, node: &Node) -> Result<bool, Diagnostic> {
    let tasks: Vec<&Task> = play
        .tasks
        .iter()
        .chain(&play.handlers)
        .flat_map(Task::walk)
        .filter(|t| t.kind == dr_agent::wire::TaskKind::Module && !t.implicit)
        // A delegated task, or one whose `vars` name a connection variable, connects on
        // its own: its `ignore_unreachable` is its own.
        .filter(|t| t.delegate_to.is_none())
        .filter(|t| {
            !t.vars
                .keys()
                .any(|k| dr_agent::engine::connection_vars::is_connection_var(k))
        })
        .collect();
    let ignoring = tasks.iter().filter(|t| t.ignore_unreachable).count();
    if ignoring == 0 {
        return Ok(false);
    }
    if let Some(first) = tasks.iter().find(|t| t.ignore_unreachable)
        && ignoring < tasks.len()
    {
        return Err(Diagnostic::new(
            super::tasks::loc_of(&first.location, node),
            "`ignore_unreachable` on some tasks of a play only is not supported by dr",
        )
        .with_help("dr connects once per play and host: set `ignore_unreachable: true` on the play (with `gather_facts: false` if only the tasks should ignore it), or move these tasks to a play of their own"));
    }
    Ok(true)
}

/// The strategies dr runs: each host runs its play on its own, which is `free` and
/// `host_pinned`; `linear` gives the same results, since no host of a play waits on
/// another's.
pub fn check_strategy(strategy: &str, loc: &crate::diagnostic::Loc) -> Result<(), Diagnostic> {
    let name = strategy.trim().trim_start_matches("ansible.builtin.");
    if matches!(name, "linear" | "free" | "host_pinned") {
        return Ok(());
    }
    Err(Diagnostic::new(
        loc.clone(),
        format!("`strategy: {strategy}` is not supported by dr"),
    )
    .with_help("dr runs each host's play on its own (as `free`/`host_pinned`); `linear` is accepted because no host of a play waits on another's results in dr"))
}
