//! The keywords every level shares (play, role entry, block, import/include statement),
//! read into what the level passes down to its tasks.

use dr_agent::wire::{Condition, Throttle};
use serde_json::{Map, Value};

use super::inherit::{Become, Inherit};
use super::keywords::refusal_help;
use super::scalar::{bool_of, string_list, text_of};
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, NodeValue};

/// One level's own keywords.
#[derive(Debug, Clone, Default)]
pub struct Level {
    /// What it passes down (without `become`, which is checked on entry).
    pub inherit: Inherit,
    /// Its privilege keywords.
    pub become_: Become,
}

impl Level {
    /// Reads `key: v` if it is one of the shared keywords; `Ok(false)` when it is not.
    pub fn read(&mut self, key: &Node, k: &str, v: &Node) -> Result<bool, Diagnostic> {
        let inherit = &mut self.inherit;
        match k {
            // As Ansible: a keyword that is `{{ omit }}` is not set (inherited).
            "when" | "tags" | "environment" | "notify" | "ignore_errors" | "check_mode"
            | "diff" | "no_log" | "run_once" | "timeout" | "ignore_unreachable" | "become"
            | "become_user" | "become_method" | "become_flags" | "delegate_to"
            | "delegate_facts" | "any_errors_fatal" | "remote_user" | "port" | "connection"
            | "throttle"
                if is_omit(v) => {}
            "when" => inherit.when.extend(when_conditions(v)?),
            "tags" => inherit.tags.extend(string_list(v, "tags")?),
            "vars" => inherit.vars.extend(mapping(v, "vars")?),
            "environment" => inherit.environment.extend(environment(v)?),
            "notify" => inherit.notify.extend(string_list(v, "notify")?),
            "ignore_errors" => match v.as_str().filter(|s| dr_agent::template::is_template(s)) {
                // Each task below renders it (`Task::ignore_errors_when`).
                Some(t) => {
                    (inherit.ignore_errors, inherit.ignore_errors_when) = (None, Some(t.to_owned()))
                }
                None => {
                    (inherit.ignore_errors, inherit.ignore_errors_when) =
                        (Some(bool_of(v, k)?), None)
                }
            },
            "check_mode" => inherit.check_mode = Some(bool_of(v, k)?),
            "diff" => inherit.diff = Some(bool_of(v, k)?),
            "no_log" => match v.as_str().filter(|s| dr_agent::template::is_template(s)) {
                // Each task below renders it (`Task::no_log_when`).
                Some(t) => (inherit.no_log, inherit.no_log_when) = (None, Some(t.to_owned())),
                None => (inherit.no_log, inherit.no_log_when) = (Some(bool_of(v, k)?), None),
            },
            "run_once" if v.as_str().is_some_and(dr_agent::template::is_template) => {
                return Err(super::task::templated_run_once(
                    key,
                    "a block, play or role",
                ));
            }
            "run_once" => inherit.run_once = Some(bool_of(v, k)?),
            "timeout" => inherit.timeout = Some(number(v, k)?),
            "ignore_unreachable" => inherit.ignore_unreachable = Some(bool_of(v, k)?),
            "become" => self.become_.on = Some(bool_of(v, k)?),
            "become_user" => self.become_.user = Some(text_of(v, k)?),
            "become_method" => inherit.become_method = become_method(v)?,
            "become_flags" => become_flags(v)?,
            "delegate_to" => inherit.delegate_to = Some(delegate_to(v)?),
            "delegate_facts" => inherit.delegate_facts = Some(bool_of(v, k)?),
            "any_errors_fatal" => inherit.any_errors_fatal = Some(bool_of(v, k)?),
            "remote_user" | "port" | "connection" => {
                inherit
                    .connection
                    .insert(k.to_owned(), connection_keyword(v, k)?);
            }
            "throttle" => inherit.throttle = Some(throttle(v)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Enters this level below `parent`: the inherited settings inside it.
    pub fn enter(&self, parent: &Inherit) -> Result<Inherit, Diagnostic> {
        let mut inner = parent.with(&self.inherit);
        inner.become_now = self.become_.resolve(parent);
        Ok(inner)
    }
}

/// The error for a keyword Ansible knows and dr does not run.
pub fn refused(key: &Node, k: &str) -> Diagnostic {
    Diagnostic::new(key.loc.clone(), format!("`{k}` is not supported by dr yet"))
        .with_help(refusal_help(k))
}

/// `when:`-like conditions: a string or a list of them (YAML booleans as "true"/"false").
pub fn conditions(v: &Node) -> Result<Vec<String>, Diagnostic> {
    match v.as_seq() {
        Some(items) => items.iter().map(|i| text_of(i, "condition")).collect(),
        None => Ok(vec![text_of(v, "condition")?]),
    }
}

/// `when:` items: as [`conditions`], but a YAML boolean stays a boolean, as Ansible keeps it
/// (a skipped result's `false_condition` is the item itself).
pub fn when_conditions(v: &Node) -> Result<Vec<Condition>, Diagnostic> {
    let one = |i: &Node| match i.value {
        NodeValue::Bool(b) => Ok(Condition::Literal(b)),
        _ => text_of(i, "condition").map(Condition::Expr),
    };
    match v.as_seq() {
        Some(items) => items.iter().map(one).collect(),
        None => Ok(vec![one(v)?]),
    }
}

/// A non-negative number (or a string holding one).
pub fn number(v: &Node, what: &str) -> Result<f64, Diagnostic> {
    match v.to_json() {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        Diagnostic::new(
            v.loc.clone(),
            format!("`{what}` must be a non-negative number, found {}", v.kind()),
        )
    })
}

/// `throttle:` a whole number, or a template the agent renders when the task is about to
/// run. A value Ansible's strategy would refuse when it gets there is refused here.
pub fn throttle(v: &Node) -> Result<Throttle, Diagnostic> {
    if let Some(s) = v.as_str()
        && dr_agent::template::is_template(s)
    {
        return Ok(Throttle::Template(s.to_owned()));
    }
    Throttle::limit_of(&v.to_json())
        .map(Throttle::Limit)
        .map_err(|e| {
            Diagnostic::new(v.loc.clone(), e.to_string()).with_help(
                "`throttle` takes a whole number of hosts (0: no limit), or a template giving one",
            )
        })
}

/// A mapping (`null` is empty).
pub fn mapping(v: &Node, what: &str) -> Result<Map<String, Value>, Diagnostic> {
    match v.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Diagnostic::new(
            v.loc.clone(),
            format!("`{what}` must be a mapping, found {}", v.kind()),
        )),
    }
}

/// Checks the `ansible_become*` variables set in a task's, block's or include's `vars:`
/// (`v`) as the keywords are checked: `ansible_become` and `ansible_become_user` decide who
/// the task runs as when it runs (the agent's `become_`), a password is never needed (dr
/// escalates with `sudo -n`, and switches users only as root), and the mechanism is sudo or
/// su with the flags dr's escalation is the same as ([`dr_agent::escalation`]);
/// `ansible_become_exe` is refused.
pub fn refuse_become_vars(v: &Node) -> Result<(), Diagnostic> {
    let Some(entries) = v.as_map() else {
        return Ok(());
    };
    for (key, value) in entries {
        let k = key.scalar_text().unwrap_or_default();
        // A template is checked by the agent when the task runs.
        if value.as_str().is_some_and(dr_agent::template::is_template) {
            continue;
        }
        match k.as_str() {
            "ansible_become_method" | "dr_become_method" => {
                become_method(value)?;
            }
            "ansible_become_flags" | "dr_become_flags" => become_flags(value)?,
            "ansible_become_exe" | "dr_become_exe" => {
                return Err(Diagnostic::new(
                    key.loc.clone(),
                    format!("`{k}` in a task's or block's `vars` is not supported by dr"),
                )
                .with_help("dr escalates with `sudo` or `su` as found on the host's PATH"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `environment:` is a mapping, or a list of them, or a template giving one (rendered when
/// the task runs, as Ansible does).
pub fn environment(v: &Node) -> Result<Map<String, Value>, Diagnostic> {
    // A list of mappings is merged in order, as Ansible does; `{{ omit }}` items add nothing.
    if let Some(items) = v.as_seq() {
        let mut out = Map::new();
        for item in items {
            let omitted = item
                .as_str()
                .and_then(dr_agent::template::single_expression)
                == Some("omit");
            if !omitted {
                out.extend(environment(item)?);
            }
        }
        return Ok(out);
    }
    if let Some(s) = v.as_str()
        && s.contains("{{")
    {
        // Rendered when the task runs, merged at this place.
        let mut out = Map::new();
        out.insert(
            format!("{}{s}", dr_agent::wire::ENV_TEMPLATE_KEY),
            Value::from(s),
        );
        return Ok(out);
    }
    mapping(v, "environment")
}

/// A `remote_user`, `port` or `connection` below the play, as the agent checks it: a
/// template is rendered when the task runs; a literal is checked here.
pub fn connection_keyword(v: &Node, k: &str) -> Result<Value, Diagnostic> {
    if let Some(s) = v.as_str()
        && dr_agent::template::is_template(s)
    {
        return Ok(Value::from(s));
    }
    match k {
        "port" => match v.to_json() {
            Value::Number(n) if n.as_u64().is_some_and(|p| p <= 65535) => Ok(Value::Number(n)),
            Value::String(s) if s.trim().parse::<u16>().is_ok() => Ok(Value::from(s.trim())),
            _ => Err(Diagnostic::new(
                v.loc.clone(),
                format!("`port` must be a port number, found {}", v.kind()),
            )),
        },
        "connection" => {
            let kind = text_of(v, k)?;
            connection_kind(&kind, v)?;
            Ok(Value::from(kind))
        }
        _ => Ok(Value::from(text_of(v, k)?)),
    }
}

/// What dr calls a `connection:` value (`local` or `ssh`), or the refusal of one it lacks.
pub fn connection_kind(kind: &str, v: &Node) -> Result<&'static str, Diagnostic> {
    match kind {
        "local" | "ansible.builtin.local" => Ok("local"),
        "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh" | "ansible.builtin.paramiko_ssh" => {
            Ok("ssh")
        }
        other => Err(Diagnostic::new(
            v.loc.clone(),
            format!("`connection: {other}` is not supported by dr"),
        )
        .with_help("dr connects with `ssh` or `local`")),
    }
}

/// `become_method` as written, once checked.
fn become_method(v: &Node) -> Result<Option<String>, Diagnostic> {
    let method = text_of(v, "become_method")?;
    match dr_agent::escalation::Method::named(&method) {
        Ok(_) => Ok(Some(method)),
        Err(why) => Err(Diagnostic::new(v.loc.clone(), why)
            .with_help("dr escalates with `sudo -n`, or `su` from a root login")),
    }
}

/// `become_flags`: only those dr's escalation is the same as.
fn become_flags(v: &Node) -> Result<(), Diagnostic> {
    let flags = if v.is_null() {
        String::new()
    } else {
        text_of(v, "become_flags")?
    };
    dr_agent::escalation::check_flags(&flags).map_err(|why| {
        Diagnostic::new(v.loc.clone(), why)
            .with_help("remove them, or configure what they change on the host (sudoers)")
    })
}

/// Whether `v` is the template `{{ omit }}`.
pub fn is_omit(v: &Node) -> bool {
    v.as_str().and_then(dr_agent::template::single_expression) == Some("omit")
}

/// `delegate_to:` a host name or a template rendering to one (`docs/cross-host.md`).
pub fn delegate_to(v: &Node) -> Result<String, Diagnostic> {
    let target = text_of(v, "delegate_to")?;
    if target.trim().is_empty() {
        return Err(Diagnostic::new(
            v.loc.clone(),
            "`delegate_to` names no host",
        )
        .with_help("name an inventory host, `localhost`, or a template such as `{{ groups['lb'][0] }}`"));
    }
    Ok(target)
}
