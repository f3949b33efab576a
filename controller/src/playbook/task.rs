//! Parsing one task mapping: a module call (into the wire form the agent runs), a block, or
//! an import/include statement for the tree builder (`tasks.rs`) to expand.

use dr_agent::template::is_template;
use dr_agent::wire::Task;
use serde_json::{Map, Value};

use super::inherit::{Explicit, Inherit};
use super::keywords::{
    ANSIBLE_BLOCK, ANSIBLE_TASK, ASYNC_MODULES, BLOCK_SUPPORTED, LOOP_CONTROL, TASK_SUPPORTED,
};
use super::level::{
    Level, conditions, delegate_to, mapping, number, refused, throttle, when_conditions,
};
use super::modules::{self, Known};
use super::scalar::{bool_of, string_list, text_of};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::{Node, NodeValue};

/// Task keywords dr runs (everything in a task mapping that is not the module).
pub const KEYWORDS: &[&str] = TASK_SUPPORTED;

/// The condition `run_once: true` becomes on a dynamic include: only the first host of the
/// batch includes the file, and only it runs the included tasks, as in Ansible. (A module
/// task's `run_once` runs on the first host and every host takes its result: see
/// `docs/cross-host.md`.)
pub const RUN_ONCE: &str = "inventory_hostname == ansible_play_batch[0]";

/// A task mapping, classified.
pub enum Parsed<'n> {
    /// A module call, with the inherited keywords applied.
    Task(Box<Task>),
    /// `block:` with its sections.
    Block {
        /// The block's own keywords.
        level: Box<Level>,
        /// `name:`.
        name: Option<String>,
        /// `block:`.
        block: &'n Node,
        /// `rescue:`.
        rescue: Option<&'n Node>,
        /// `always:`.
        always: Option<&'n Node>,
        /// The mapping.
        node: &'n Node,
    },
    /// `import_tasks`, `include_tasks`, `import_role` or `include_role`.
    Statement(Box<Statement<'n>>),
}

/// An import or include, for the tree builder.
pub struct Statement<'n> {
    /// Canonical name: `import_tasks`, `include_tasks`, `import_role`, `include_role`.
    pub kind: &'static str,
    /// The module key (for locations).
    pub key: &'n Node,
    /// The module value: a file name, or a mapping of arguments.
    pub value: &'n Node,
    /// `args:` of the task, merged into the value's arguments by the builder.
    pub args: Option<&'n Node>,
    /// The statement's own task keywords (`name`, `when`, `loop`, `tags`, `vars`...), as a
    /// task; includes keep them on the include node, imports pass them down.
    pub task: Task,
    /// The same keywords as a level, for imports to pass down.
    pub level: Level,
}

/// Parses one task mapping.
pub fn parse<'n>(node: &'n Node, inherit: &Inherit) -> Result<Parsed<'n>, Diagnostic> {
    let entries = node.as_map().ok_or_else(|| {
        Diagnostic::new(
            node.loc.clone(),
            format!("a task must be a mapping, found {}", node.kind()),
        )
        .with_help("write a task as `- name: ...` followed by one module, e.g. `copy: {...}`")
    })?;
    if entries.iter().any(|(k, _)| k.as_str() == Some("block")) {
        return parse_block(node, entries);
    }
    let mut task = Task {
        location: node.loc.to_string(),
        ..Task::default()
    };
    let mut level = Level::default();
    let mut explicit = Explicit::default();
    let mut module: Option<(&Node, &Node)> = None;
    let mut extra_args: Option<&Node> = None;
    let mut action: Option<(Node, Node)> = None;
    let mut module_template: Option<String> = None;
    for (key, value) in entries {
        let k = key.scalar_text().unwrap_or_default();
        if k == "action" || k == "local_action" {
            if let Some((first, _)) = &action {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("a task has one `action`, but this one also has `{k}`"),
                )
                .with_related(first.loc.clone(), "first here"));
            }
            let (name, args, template) = action_form(key, value)?;
            action = Some((name, args));
            module_template = template;
            // As Ansible: `local_action` is `action` delegated to localhost.
            if k == "local_action" {
                task.delegate_to = Some("localhost".into());
            }
            continue;
        }
        if KEYWORDS.contains(&k.as_str()) {
            match k.as_str() {
                // As Ansible: a keyword that is `{{ omit }}` is not set (inherited).
                _ if super::level::is_omit(value) => {}
                "args" => extra_args = Some(value),
                "become" | "become_user" | "become_method" | "become_flags" => {
                    level.read(key, &k, value)?;
                }
                "any_errors_fatal" => {
                    explicit.any_errors_fatal = true;
                    task.any_errors_fatal = bool_of(value, &k)?;
                }
                _ => apply_keyword(&mut task, &mut explicit, &k, key, value)?,
            }
            continue;
        }
        if ANSIBLE_TASK.contains(&k.as_str()) || ANSIBLE_BLOCK.contains(&k.as_str()) {
            return Err(refused(key, &k));
        }
        if let Some(lookup) = k.strip_prefix("with_") {
            let plugin = dr_agent::template::lookup::plugin(lookup).or_else(|| {
                // A Python plugin the controller runs (asked for when the loop starts).
                crate::bridge::lookups::has(lookup).then_some(lookup)
            });
            let Some(plugin) = plugin else {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!(
                        "`with_{lookup}` (a loop over the `{lookup}` lookup) is not supported by dr yet"
                    ),
                )
                .with_help("write the list with `loop:`"));
            };
            if task.loop_.is_some() {
                return Err(one_loop(key));
            }
            task.loop_ = Some(value.to_json());
            task.loop_with = Some(plugin.to_owned());
            continue;
        }
        let canon = modules::canonical(&k);
        if !modules::IMPORTS.contains(&canon) && !modules::is_foreign(&k) {
            modules::resolve(&modules::runs_as(&k, &key.loc.file))
                .map_err(|why| modules::not_run(key, &k, why, KEYWORDS))?;
        }
        if let Some((first, _)) = module {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!(
                    "a task has one module, but this one has `{}` and `{k}`",
                    first.scalar_text().unwrap_or_default()
                ),
            )
            .with_related(first.loc.clone(), "first module here")
            .with_help("split them into two tasks"));
        }
        module = Some((key, value));
    }
    if let (Some((first, _)), Some((written, _))) = (module, &action) {
        return Err(Diagnostic::new(
            written.loc.clone(),
            format!(
                "a task has one module, but this one has `{}` and `action`",
                first.scalar_text().unwrap_or_default()
            ),
        ));
    }
    if let (Some(local), Some(delegate)) = (
        entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("local_action")),
        entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("delegate_to")),
    ) {
        return Err(Diagnostic::new(
            delegate.0.loc.clone(),
            "`local_action` and `delegate_to` cannot both be used on a task",
        )
        .with_related(local.0.loc.clone(), "`local_action` here")
        .with_help("write `action:` with `delegate_to:`, or drop `delegate_to`"));
    }
    if let Some((key, _)) = &action {
        let name = modules::canonical(key.as_str().unwrap_or_default());
        if modules::IMPORTS.contains(&name) {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!(
                    "`action: {name}` is not supported by dr; write `{name}:` as the task's key"
                ),
            ));
        }
        let written = key.as_str().unwrap_or_default();
        if !modules::is_foreign(written) {
            modules::resolve(&modules::runs_as(written, &key.loc.file))
                .map_err(|why| modules::not_run(key, written, why, KEYWORDS))?;
        }
    }
    if let Some((key, value)) = module {
        let name = modules::canonical(key.as_str().unwrap_or_default());
        if let Some(kind) = modules::IMPORTS.iter().find(|i| **i == name) {
            if kind.starts_with("include_")
                && let Some((k, _)) = entries.iter().find(|(k, _)| {
                    matches!(
                        k.as_str(),
                        Some("delegate_to" | "delegate_facts" | "throttle")
                    )
                })
            {
                // As Ansible: not an attribute of a dynamic include.
                return Err(Diagnostic::new(
                    k.loc.clone(),
                    format!(
                        "`{}` is not a valid keyword of `{kind}`",
                        k.as_str().unwrap_or_default()
                    ),
                )
                .with_help(format!(
                    "put it on the included tasks, or use `apply:` on `{kind}`"
                )));
            }
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("run_once"))
                .filter(|_| task.run_once_template.is_some())
            {
                return Err(templated_run_once(k, kind));
            }
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| matches!(k.as_str(), Some("async" | "poll")))
            {
                return Err(Diagnostic::new(
                    k.loc.clone(),
                    format!(
                        "`{}` on `{kind}` is not supported by dr",
                        k.as_str().unwrap_or_default()
                    ),
                )
                .with_help("put `async`/`poll` on the `command` or `shell` tasks themselves"));
            }
            level.inherit = keywords_as_level(&task, &explicit);
            return Ok(Parsed::Statement(Box::new(Statement {
                kind,
                key,
                value,
                args: extra_args,
                task,
                level,
            })));
        }
    }
    let Some((key, value)) = module.or(action.as_ref().map(|(k, v)| (k, v))) else {
        return Err(
            Diagnostic::new(node.loc.clone(), "this task names no module")
                .with_help("add one module key, e.g. `command: /usr/bin/true`"),
        );
    };
    let written = key.scalar_text().unwrap_or_default();
    let resolved = modules::runs_as(&written, &key.loc.file);
    let name = modules::canonical(&resolved);
    let entered = level.enter(inherit)?;
    (task.become_, task.become_method) = (entered.become_now, entered.become_method);
    if modules::is_foreign(&written) && modules::resolve(&resolved).is_err() {
        return Ok(Parsed::Task(Box::new(foreign_task(
            task, key, &written, inherit, &explicit,
        ))));
    }
    let known = modules::resolve(&resolved)
        .map_err(|why| modules::not_run(key, &written, why, KEYWORDS))?;
    let mut args = module_args(&known, value)?;
    if let Some(extra) = extra_args {
        merge_args(&mut args, extra)?;
    }
    // Ansible's `package` is the host's package module, with all its arguments: on the
    // Debian hosts dr's `package` serves, `apt`. dr's `package` takes the common ones.
    let (name, known) = match modules::package_as_apt(name, &args) {
        Some(apt) => ("apt", apt),
        None => (name, known),
    };
    check_reserved_args(&written, name, &args, value)?;
    let unsupported = match &known {
        Known::Module {
            name: m,
            args: accepted,
            ..
        } => check_arg_names(&written, m, accepted, &args, value).err(),
        _ => None,
    };
    if unsupported.is_none()
        && let Known::Module { name: m, .. } = &known
    {
        check_arg_values(&written, m, &args, value)?;
    }
    if name == "meta" {
        check_meta(&args, value)?;
    }
    task.module = match &known {
        Known::Bridged(fqcn) => {
            if let Value::Object(map) = &mut args {
                crate::bridge::mark(map, &written);
            }
            fqcn.clone()
        }
        _ => name.to_owned(),
    };
    if written != task.module {
        task.action = Some(written.clone());
    }
    if let Some(template) = &module_template {
        // As Ansible's task banner: the name as written.
        task.action = Some(template.clone());
    }
    task.module_template = module_template;
    task.args = args;
    inherit.apply(&mut task, &explicit);
    if crate::bridge::synchronize::bridges(&task.module) {
        crate::bridge::synchronize::prepare(&mut task, &key.loc)?;
    }
    if task.module == "meta" && task.meta_action() == Some("end_role") {
        task.role_run = match (&inherit.role, inherit.handler) {
            (_, true) => {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    "Cannot execute 'end_role' from a handler",
                ));
            }
            (None, false) => {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    "Cannot execute 'end_role' from outside of a role",
                ));
            }
            (Some(role), false) => Some(role.run),
        };
    }
    if let Some(refusal) = unsupported {
        // `package: {enablerepo: epel}` is for a RedHat host: on the Debian hosts dr's
        // `package` serves, Ansible's `apt` fails it when it runs (a `when` usually skips it).
        let other_backend = name == "package" && modules::for_other_package_managers(&task.args);
        fails_when_run(&mut task, &written, refusal, other_backend)?;
    }
    if matches!(task.module.as_str(), "add_host" | "group_by") {
        if task.delegate_to.is_some() {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!(
                    "`{written}` changes the run's inventory on the controller; `delegate_to` is not supported on it"
                ),
            ));
        }
        // As Ansible: `add_host` bypasses the host loop (it runs once, for the first host).
        task.run_once |= task.module == "add_host";
    }
    check_async(entries, &task, &written)?;
    let names = super::lookup_names::check(&task, &node.loc)
        .and_then(|()| super::filter_names::check(&task, &node.loc));
    if let Err(refusal) = names {
        // A task whose failure the playbook ignores fails when it runs, as in Ansible (its
        // play goes on); any other is refused before anything runs.
        if !task.ignore_errors {
            return Err(refusal);
        }
        tracing::warn!(
            "the task at {} fails on every host that reaches it: {}",
            refusal.loc,
            refusal.message
        );
    }
    Ok(Parsed::Task(Box::new(task)))
}

fn parse_block<'n>(node: &'n Node, entries: &'n [(Node, Node)]) -> Result<Parsed<'n>, Diagnostic> {
    let mut level = Level::default();
    let (mut name, mut block, mut rescue, mut always) = (None, None, None, None);
    for (key, v) in entries {
        let k = key.scalar_text().unwrap_or_default();
        match k.as_str() {
            "name" => name = Some(text_of(v, "name")?),
            "block" => block = Some(v),
            "rescue" => rescue = Some(v),
            "always" => always = Some(v),
            "vars" => {
                super::level::refuse_become_vars(v)?;
                level.read(key, &k, v)?;
            }
            _ if BLOCK_SUPPORTED.contains(&k.as_str()) && level.read(key, &k, v)? => {}
            _ if ANSIBLE_BLOCK.contains(&k.as_str()) => return Err(refused(key, &k)),
            _ => {
                let help = did_you_mean(&k, BLOCK_SUPPORTED.iter().copied()).unwrap_or_else(|| {
                    "a block holds `block`, `rescue`, `always` and block keywords, not a module"
                        .to_owned()
                });
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("unknown block keyword `{k}`"),
                )
                .with_help(help));
            }
        }
    }
    Ok(Parsed::Block {
        level: Box::new(level),
        name,
        block: block.unwrap_or(node),
        rescue,
        always,
        node,
    })
}

/// `async:` runs where Ansible's action supports it and dr implements it (`command`,
/// `shell`), and not as another user (the job file lives in the agent user's home).
fn check_async(entries: &[(Node, Node)], task: &Task, written: &str) -> Result<(), Diagnostic> {
    let Some((key, value)) = entries.iter().find(|(k, _)| k.as_str() == Some("async")) else {
        return Ok(());
    };
    // As Ansible: `async: 0` is a task run in the foreground.
    if value.to_json().as_f64() == Some(0.0) {
        return Ok(());
    }
    if !ASYNC_MODULES.contains(&task.module.as_str()) {
        return Err(Diagnostic::new(
            key.loc.clone(),
            format!("`async` on module `{written}` is not supported by dr"),
        )
        .with_help(format!(
            "dr runs `async` on: {}; run this task in the foreground (drop `async`/`poll`)",
            ASYNC_MODULES.join(", ")
        )));
    }
    Ok(())
}

/// A templated `run_once` where dr renders it only on a task or handler: on `place` (an
/// import or include, a block, a play, a role entry), whose tasks Ansible would each
/// render it for.
pub fn templated_run_once(key: &Node, place: &str) -> Diagnostic {
    Diagnostic::new(
        key.loc.clone(),
        format!("a templated `run_once` on `{place}` is not supported by dr; it renders one on a task or handler"),
    )
    .with_help("write `run_once: true` or `false` here, or put the template on each task")
}

/// The keywords of an import statement, as what it passes down to the imported tasks.
fn keywords_as_level(task: &Task, explicit: &Explicit) -> Inherit {
    Inherit {
        when: task.when.clone(),
        tags: task.tags.clone(),
        vars: task.vars.clone(),
        environment: task.environment.clone(),
        notify: task.notify.clone(),
        ignore_errors: (explicit.ignore_errors && task.ignore_errors_when.is_none())
            .then_some(task.ignore_errors),
        ignore_errors_when: task.ignore_errors_when.clone(),
        check_mode: task.check_mode,
        diff: task.diff,
        no_log: (explicit.no_log && task.no_log_when.is_none()).then_some(task.no_log),
        no_log_when: task.no_log_when.clone(),
        run_once: explicit.run_once.then_some(task.run_once),
        delegate_to: task.delegate_to.clone(),
        delegate_facts: explicit.delegate_facts.then_some(task.delegate_facts),
        timeout: task.timeout,
        ignore_unreachable: explicit
            .ignore_unreachable
            .then_some(task.ignore_unreachable),
        any_errors_fatal: explicit.any_errors_fatal.then_some(task.any_errors_fatal),
        connection: task.connection.clone(),
        throttle: task.throttle.clone(),
        ..Inherit::default()
    }
}

/// Whether the module name (the first word of `text`) is a template.
fn is_templated(text: &str) -> bool {
    let name = text.split_whitespace().next().unwrap_or_default();
    name.contains("{{") || name.contains("{%")
}

/// `action: copy src=a dest=b` or `action: {module: copy, src: a}`: the module key and
/// its arguments, as if written `copy: ...`, and the module name as written when it is a
/// fact's template ([`super::module_template`]).
fn action_form(key: &Node, v: &Node) -> Result<(Node, Node, Option<String>), Diagnostic> {
    let node = |value: NodeValue| Node {
        value,
        loc: v.loc.clone(),
    };
    let templated = |name: &str| {
        Diagnostic::new(
            v.loc.clone(),
            format!("the module name `{name}` is a template"),
        )
        .with_help(
            "Ansible renders it when the task runs (from facts, say); dr needs every task's module when it reads the play, to check its arguments and plan it: name the module, or choose between tasks with `when:`",
        )
    };
    if let Some(text) = v.as_str() {
        let text = text.trim();
        if is_templated(text) {
            return match super::module_template::module_of(text) {
                Some(module) => Ok((
                    node(NodeValue::Str(module.to_owned())),
                    node(NodeValue::Null),
                    Some(text.to_owned()),
                )),
                None => Err(templated(text)),
            };
        }
        let (name, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let args = if rest.trim().is_empty() {
            NodeValue::Null
        } else {
            NodeValue::Str(rest.trim().to_owned())
        };
        return Ok((node(NodeValue::Str(name.to_owned())), node(args), None));
    }
    if let Some(entries) = v.as_map() {
        let mut name = None;
        let mut args: Vec<(Node, Node)> = Vec::new();
        let mut inner = Vec::new();
        for (k, value) in entries {
            match k.as_str() {
                Some("module") => name = value.as_str().map(str::to_owned),
                // As Ansible: an `args` inside the mapping is merged over its siblings.
                Some("args") => inner.push(value),
                _ => args.push((k.clone(), value.clone())),
            }
        }
        let Some(mut name) = name else {
            return Err(Diagnostic::new(
                key.loc.clone(),
                "`action` takes `module args` or a mapping with `module:`",
            ));
        };
        let template = if is_templated(&name) {
            let module =
                super::module_template::module_of(&name).ok_or_else(|| templated(name.trim()))?;
            let template = name.trim().to_owned();
            name = module.to_owned();
            Some(template)
        } else {
            None
        };
        // `module: copy src=a`: the words after the name are `key=value` arguments.
        let (name, words) = name
            .trim()
            .split_once(char::is_whitespace)
            .map_or((name.trim().to_owned(), None), |(n, w)| {
                (n.to_owned(), Some(w.to_owned()))
            });
        let mut merge = |more: Vec<(Node, Node)>| {
            for (k, value) in more {
                args.retain(|(old, _)| old.as_str() != k.as_str());
                args.push((k, value));
            }
        };
        if let Some(words) = words {
            merge(kv_nodes(&words, v)?);
        }
        for value in inner {
            match (&value.value, value.as_str()) {
                (NodeValue::Map(more), _) => merge(more.clone()),
                (_, Some(words)) => merge(kv_nodes(words, value)?),
                _ => {
                    return Err(Diagnostic::new(
                        value.loc.clone(),
                        "`args` in `action` takes a mapping or `key=value` words",
                    ));
                }
            }
        }
        return Ok((
            node(NodeValue::Str(name)),
            node(NodeValue::Map(args)),
            template,
        ));
    }
    Err(Diagnostic::new(
        key.loc.clone(),
        "`action` takes `module args` or a mapping with `module:`",
    ))
}

/// `key=value` words as mapping entries located at `at`.
fn kv_nodes(words: &str, at: &Node) -> Result<Vec<(Node, Node)>, Diagnostic> {
    let map = super::kv::parse(words).map_err(|e| Diagnostic::new(at.loc.clone(), e))?;
    let node = |text: String| Node {
        value: NodeValue::Str(text),
        loc: at.loc.clone(),
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| (node(k), node(v.as_str().unwrap_or_default().to_owned())))
        .collect())
}

fn apply_keyword(
    task: &mut Task,
    explicit: &mut Explicit,
    k: &str,
    key: &Node,
    v: &Node,
) -> Result<(), Diagnostic> {
    match k {
        "name" => task.name = Some(text_of(v, "name")?),
        "when" => task.when.extend(when_conditions(v)?),
        "changed_when" => task.changed_when = conditions(v)?,
        "failed_when" => task.failed_when = conditions(v)?,
        "until" => task.until = Some(until(v)?),
        "loop" | "with_items" | "with_list" => {
            if task.loop_.is_some() {
                return Err(one_loop(key));
            }
            task.loop_ = Some(v.to_json());
            // `with_items` and `with_list` are lookups (a non-list is a list of one, and
            // `items` flattens one level); `loop` must be a list.
            task.loop_with = k.strip_prefix("with_").map(str::to_owned);
        }
        "loop_control" => loop_control(task, v)?,
        "register" => {
            let name = register_name(v)?;
            task.register = Some(name);
        }
        "notify" => task.notify = string_list(v, "notify")?,
        "listen" => task.listen = string_list(v, "listen")?,
        "tags" => task.tags = string_list(v, "tags")?,
        "ignore_errors" => {
            explicit.ignore_errors = true;
            match v.as_str().filter(|s| is_template(s)) {
                // Rendered by the agent when the task starts (`engine/task.rs`).
                Some(t) => task.ignore_errors_when = Some(t.to_owned()),
                None => task.ignore_errors = bool_of(v, "ignore_errors")?,
            }
        }
        "no_log" => {
            explicit.no_log = true;
            match v.as_str().filter(|s| is_template(s)) {
                // Rendered by the agent when the task starts (`engine/task.rs`).
                Some(t) => task.no_log_when = Some(t.to_owned()),
                None => task.no_log = bool_of(v, "no_log")?,
            }
        }
        "check_mode" => task.check_mode = Some(bool_of(v, "check_mode")?),
        "diff" => task.diff = Some(bool_of(v, "diff")?),
        "retries" => task.retries = Some(number_or_template(v, "retries")?),
        "delay" => task.delay = Some(number_or_template(v, "delay")?),
        "vars" => {
            super::level::refuse_become_vars(v)?;
            task.vars = mapping(v, "vars")?;
        }
        "environment" => task.environment = super::level::environment(v)?,
        "delegate_to" => task.delegate_to = Some(delegate_to(v)?),
        "delegate_facts" => {
            explicit.delegate_facts = true;
            task.delegate_facts = bool_of(v, k)?;
        }
        "run_once" => {
            explicit.run_once = true;
            match v.as_str().filter(|s| is_template(s)) {
                // Rendered per host when the request is built (`run/run_once.rs`).
                Some(t) => task.run_once_template = Some(t.to_owned()),
                None => task.run_once = bool_of(v, "run_once")?,
            }
        }
        "timeout" => task.timeout = Some(number(v, "timeout")?),
        "remote_user" | "port" | "connection" => {
            task.connection
                .insert(k.to_owned(), super::level::connection_keyword(v, k)?);
        }
        "throttle" => task.throttle = Some(throttle(v)?),
        "async" => task.async_ = Some(number_or_template(v, "async")?),
        "poll" => task.poll = Some(number_or_template(v, "poll")?),
        "ignore_unreachable" => {
            task.ignore_unreachable = bool_of(v, k)?;
            explicit.ignore_unreachable = true;
        }
        _ => {
            return Err(Diagnostic::new(
                key.loc.clone(),
                format!("keyword `{k}` is not handled (this is a bug in dr)"),
            ));
        }
    }
    Ok(())
}

/// A number, or a template the agent renders to one (`retries: "{{ n + 2 }}"`).
fn number_or_template(v: &Node, what: &str) -> Result<Value, Diagnostic> {
    match v.as_str() {
        Some(s) if s.contains("{{") => Ok(Value::from(s)),
        _ => Ok(Value::from(number(v, what)?)),
    }
}

fn loop_control(task: &mut Task, v: &Node) -> Result<(), Diagnostic> {
    let entries = v.as_map().ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`loop_control` must be a mapping, found {}", v.kind()),
        )
    })?;
    for (key, value) in entries {
        let k = key.scalar_text().unwrap_or_default();
        match k.as_str() {
            "loop_var" => task.loop_var = Some(text_of(value, "loop_var")?),
            "index_var" => task.index_var = Some(text_of(value, "index_var")?),
            "label" => task.loop_label = Some(text_of(value, "label")?),
            "pause" => task.loop_pause = Some(number(value, "pause")?),
            "extended" => task.loop_extended = bool_of(value, "extended")?,
            "extended_allitems" => {
                task.loop_without_allitems = !bool_of(value, "extended_allitems")?;
            }
            "break_when" => task.break_when = conditions(value)?,
            _ => {
                let help = did_you_mean(&k, LOOP_CONTROL.iter().copied()).unwrap_or_else(|| {
                    format!("`loop_control` accepts: {}", LOOP_CONTROL.join(", "))
                });
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("unknown `loop_control` key `{k}`"),
                )
                .with_help(help));
            }
        }
    }
    Ok(())
}

fn check_meta(args: &Value, node: &Node) -> Result<(), Diagnostic> {
    let action = match args {
        Value::String(s) => s.trim().to_owned(),
        Value::Object(m) => m
            .get("_raw_params")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => String::new(),
    };
    if dr_agent::modules::META_ACTIONS.contains(&action.as_str()) {
        return Ok(());
    }
    Err(Diagnostic::new(
        node.loc.clone(),
        format!("`meta: {action}` is not supported by dr (unknown action)"),
    )
    .with_help(format!(
        "dr runs: {}",
        dr_agent::modules::META_ACTIONS.join(", ")
    )))
}

/// Module arguments: a mapping as is; a string kept for free-form modules, else parsed as
/// Ansible's `key=value key2="a b"` short form.
fn module_args(known: &Known, v: &Node) -> Result<Value, Diagnostic> {
    let free_form = matches!(
        known,
        Known::Module {
            free_form: true,
            ..
        }
    );
    match v.to_json() {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::String(s) if free_form => match known {
            Known::Module {
                name: "command" | "shell" | "raw" | "script",
                ..
            } => {
                let (line, mut options) =
                    super::kv::free_form(&s).map_err(|m| Diagnostic::new(v.loc.clone(), m))?;
                if options.is_empty() {
                    return Ok(Value::String(line));
                }
                options.insert("_raw_params".into(), Value::String(line));
                Ok(Value::Object(options))
            }
            _ => Ok(Value::String(s)),
        },
        // The whole arguments as one template, rendered on the host.
        Value::String(s) if dr_agent::template::single_expression(&s).is_some() => {
            let mut m = Map::new();
            m.insert(dr_agent::wire::ARGS_TEMPLATE_KEY.into(), Value::String(s));
            Ok(Value::Object(m))
        }
        // As Ansible: `add_host` takes free words too (its action then refuses them).
        Value::String(s)
            if matches!(
                known,
                Known::Module {
                    name: "add_host",
                    ..
                }
            ) =>
        {
            super::kv::parse_with_raw(&s)
                .map(Value::Object)
                .map_err(|m| Diagnostic::new(v.loc.clone(), m))
        }
        Value::String(s) => super::kv::parse(&s)
            .map(Value::Object)
            .map_err(|m| Diagnostic::new(v.loc.clone(), m)),
        obj @ Value::Object(_) => Ok(obj),
        _ => Err(Diagnostic::new(
            v.loc.clone(),
            format!("module arguments must be a mapping, found {}", v.kind()),
        )),
    }
}

/// Merges a task's `args:` into its module arguments.
pub fn merge_args(args: &mut Value, extra: &Node) -> Result<(), Diagnostic> {
    // `args: "{{ a_dict }}"`: rendered on the host; the module's own arguments win.
    if let Some(s) = extra.as_str()
        && dr_agent::template::single_expression(s).is_some()
        && let Value::Object(map) = args
    {
        map.insert(dr_agent::wire::ARGS_TEMPLATE_KEY.into(), Value::from(s));
        return Ok(());
    }
    let Value::Object(more) = extra.to_json() else {
        return Err(Diagnostic::new(
            extra.loc.clone(),
            "`args` must be a mapping",
        ));
    };
    match args {
        Value::Object(map) => map.extend(more),
        Value::String(cmd) => {
            let mut map = more;
            map.insert("cmd".into(), Value::String(std::mem::take(cmd)));
            *args = Value::Object(map);
        }
        _ => {}
    }
    Ok(())
}

/// Refuses an argument named with the `_ansible_` prefix, which Ansible reserves for
/// itself, in its words (its free-form actions excepted).
fn check_reserved_args(
    written: &str,
    module: &str,
    args: &Value,
    node: &Node,
) -> Result<(), Diagnostic> {
    const FREE_FORM: [&str; 6] = [
        "command",
        "raw",
        "script",
        "shell",
        "win_command",
        "win_shell",
    ];
    let Value::Object(map) = args else {
        return Ok(());
    };
    if FREE_FORM.contains(&module) {
        return Ok(());
    }
    let Some(name) = map.keys().find(|k| k.starts_with("_ansible_")) else {
        return Ok(());
    };
    let loc = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(name)))
        .map_or(node.loc.clone(), |(k, _)| k.loc.clone());
    Err(Diagnostic::new(
        loc,
        format!(
            "Invalid parameter specified beginning with keyword '_ansible_' for action '{written}': '{name}'. The prefix '_ansible_' is reserved for internal use only."
        ),
    ))
}

/// Refuses an argument the native module does not take (its name and the refusal); the message names the module as
/// the user wrote it (`apt`), not dr's module behind it (`package`).
fn check_arg_names(
    written: &str,
    module: &str,
    accepted: &[&str],
    args: &Value,
    node: &Node,
) -> Result<(), (String, Diagnostic)> {
    let Value::Object(map) = args else {
        return Ok(());
    };
    if accepted.is_empty() {
        // Modules such as `set_fact` take any keys.
        return Ok(());
    }
    for name in map.keys() {
        // A free-form command's words beside its `key=value` options (see `kv::free_form`).
        let free_words =
            name == "_raw_params" && matches!(module, "command" | "shell" | "raw" | "script");
        if accepted.contains(&name.as_str())
            || name == dr_agent::wire::ARGS_TEMPLATE_KEY
            || free_words
        {
            continue;
        }
        let loc = node
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(name)))
            .map_or(node.loc.clone(), |(k, _)| k.loc.clone());
        let behind = if modules::canonical(written) == module {
            String::new()
        } else {
            format!(" (dr runs it as its `{module}` module)")
        };
        let help = did_you_mean(name, accepted.iter().copied()).unwrap_or_else(|| {
            format!("`{written}` accepts in dr{behind}: {}", accepted.join(", "))
        });
        return Err((
            name.clone(),
            Diagnostic::new(
                loc,
                format!("module `{written}` has no argument `{name}` in dr"),
            )
            .with_help(help),
        ));
    }
    Ok(())
}

/// Refuses a literal argument value the native module does not run (`type: language` on
/// `postgresql_privs`), located at the value; a templated value is the module's to check.
fn check_arg_values(
    written: &str,
    module: &str,
    args: &Value,
    node: &Node,
) -> Result<(), Diagnostic> {
    let Some(m) = dr_agent::modules::ALL.iter().find(|m| m.name() == module) else {
        return Ok(());
    };
    let Value::Object(map) = args else {
        return Ok(());
    };
    let literal: Map<String, Value> = map
        .iter()
        .filter(|(_, v)| !v.as_str().is_some_and(is_template))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let Some((arg, why)) = m.refused_value(&Value::Object(literal)) else {
        return Ok(());
    };
    let loc = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(arg)))
        .map_or(node.loc.clone(), |(_, v)| v.loc.clone());
    Err(Diagnostic::new(loc, format!("module `{written}`: {why}")))
}

/// An argument the module does not take is refused before the run, unless the task
/// ignores its errors: it was written to fail, so it fails where it runs, with Ansible's
/// message (`Unsupported parameters for (shell) module: expand_argument_vars`), and a
/// warning before the run.
fn fails_when_run(
    task: &mut Task,
    written: &str,
    (name, refusal): (String, Diagnostic),
    always: bool,
) -> Result<(), Diagnostic> {
    if !task.ignore_errors && !always {
        return Err(refusal);
    }
    tracing::warn!(
        "the task at {} fails on every host that reaches it: {}",
        refusal.loc,
        refusal.message
    );
    let mut args = Map::new();
    args.insert(
        "msg".into(),
        Value::from(format!(
            "Unsupported parameters for ({written}) module: {name}"
        )),
    );
    task.module = "fail".into();
    task.args = Value::Object(args);
    Ok(())
}

/// A task of a module for another kind of host ([`modules::is_foreign`]): it fails when it
/// runs, as Ansible's would on dr's hosts, and is skipped like any task when its `when`
/// says so.
fn foreign_task(
    mut task: Task,
    key: &Node,
    written: &str,
    inherit: &Inherit,
    explicit: &Explicit,
) -> Task {
    tracing::warn!(
        "the task at {} fails on every host that reaches it: `{written}` is for another kind of host than dr's",
        key.loc
    );
    let mut args = Map::new();
    args.insert(
        "msg".into(),
        Value::from(format!(
            "`{written}` is for another kind of host: dr runs on Linux hosts with apt (Debian, Ubuntu); this task's `when` should skip it here ({})",
            key.loc
        )),
    );
    task.module = "fail".into();
    task.action = Some(written.to_owned());
    task.args = Value::Object(args);
    inherit.apply(&mut task, explicit);
    task
}

/// `until:` as one expression: a list of conditions (Ansible's `until` is a list, like
/// `when`) holds when each one does.
fn until(v: &Node) -> Result<String, Diagnostic> {
    use dr_agent::wire::Condition;
    let conditions = super::level::when_conditions(v)?;
    let texts: Vec<String> = conditions
        .iter()
        .map(|c| match c {
            Condition::Literal(b) => if *b { "True" } else { "False" }.to_owned(),
            Condition::Expr(e) => e.clone(),
        })
        .collect();
    Ok(match texts.as_slice() {
        [one] => one.clone(),
        _ => texts
            .iter()
            .map(|t| format!("({t})"))
            .collect::<Vec<_>>()
            .join(" and "),
    })
}

/// Ansible refuses a task with two loops (`loop` and `with_<lookup>`, or two `with_`).
fn one_loop(key: &Node) -> Diagnostic {
    Diagnostic::new(
        key.loc.clone(),
        "a task has one loop, but this one has two (`loop:` and `with_<lookup>:` are mutually exclusive)",
    )
}

/// The variable `register:` names, validated as Ansible's `validate_variable_name`: an
/// ASCII identifier that is not a Jinja keyword (`true`, `None`, `not`, ...); anything else
/// fails with Ansible's message.
fn register_name(v: &Node) -> Result<String, Diagnostic> {
    const JINJA_KEYWORDS: [&str; 7] = ["true", "false", "none", "True", "False", "None", "not"];
    let (shown, type_name) = match &v.value {
        NodeValue::Str(s) => (Some(s.clone()), None),
        NodeValue::Int(i) => (Some(i.to_string()), Some("int")),
        NodeValue::Float(f) => (Some(format!("{f:?}")), Some("float")),
        NodeValue::Bool(b) => (
            Some(if *b { "True" } else { "False" }.to_owned()),
            Some("bool"),
        ),
        NodeValue::Seq(_) => (None, Some("list")),
        NodeValue::Map(_) => (None, Some("dict")),
        _ => return text_of(v, "register"),
    };
    if let (Some(name), None) = (&shown, type_name) {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !JINJA_KEYWORDS.contains(&name.as_str());
        if valid {
            return Ok(name.clone());
        }
    }
    let mut description = match &shown {
        Some(name) => format!("name '{name}'"),
        None => "name".to_owned(),
    };
    if let Some(t) = type_name {
        description.push_str(&format!(" of type '{t}'"));
    }
    Err(Diagnostic::new(
        v.loc.clone(),
        format!("Invalid 'register' specified: Invalid variable {description}."),
    )
    .with_help(
        "Variable names must be strings starting with a letter or underscore character, \
         and contain only letters, numbers and underscores.",
    ))
}
