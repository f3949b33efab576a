//! Who a task runs as. As in Ansible, the task's `become`/`become_user` keywords (its own,
//! its block's, role's or play's) say whom to escalate to, and the host's `ansible_become`
//! and `ansible_become_user` variables (`dr_become*` first), wherever they were set —
//! inventory, play or task `vars`, `include_vars`, `set_fact` — override them, when the task
//! runs. The agent was started as one user ([`Request::agent_user`]); a task that must run
//! as another runs as that user if its module can switch ([`as_user::can_switch`]) and the
//! agent is root, and fails saying why otherwise: never as a user the playbook did not say.

use serde_json::Value as Json;

use crate::escalation::{self, Method};
use crate::modules::{as_user, json_bool};
use crate::template::Scope;
use crate::wire::{Request, Task};

/// The user `task` must switch to from the agent's (`None`: it runs as the agent), or why
/// it cannot run as the playbook says.
/// Whether `task` runs under `become` here (its keywords, or `ansible_become`).
pub(super) fn is_on(task: &Task, scope: &Scope) -> bool {
    match variable(scope, "become") {
        Ok(Some((_, v))) => json_bool(&v) == Some(true),
        _ => task.become_.is_some(),
    }
}

pub(super) fn switch_to(
    request: &Request,
    task: &Task,
    scope: &Scope,
) -> Result<Option<String>, String> {
    let on = match variable(scope, "become")? {
        Some((name, v)) => json_bool(&v)
            .ok_or_else(|| format!("`{name}` must be a boolean, got `{}`", shown(&v)))?,
        None => task.become_.is_some(),
    };
    if !on {
        return match &request.agent_user {
            None => Ok(None),
            Some(agent) => Err(format!(
                "this task runs without `become` (its keywords or `ansible_become`), but dr \
                 started this host's agent as `{agent}`: dr cannot return to the login user \
                 for one task; put it in a play of its own"
            )),
        };
    }
    let method = mechanism(task, scope)?;
    let user = match variable(scope, "become_user")? {
        Some((_, Json::String(u))) => u,
        Some((name, other)) => {
            return Err(format!(
                "`{name}` must be a user name, got `{}`",
                shown(&other)
            ));
        }
        None => match &task.become_ {
            // The keyword as written: a template renders when the task runs, as in Ansible.
            Some(written) => match scope
                .render_value(&Json::String(written.clone()))
                .map_err(|e| format!("`become_user`: {e}"))?
            {
                Json::String(u) => u,
                other => {
                    return Err(format!(
                        "`become_user` must be a user name, got `{}`",
                        shown(&other)
                    ));
                }
            },
            None => "root".to_owned(),
        },
    };
    if request.agent_user.as_deref() == Some(user.as_str()) || as_user::is_current(&user) {
        return Ok(None);
    }
    if !as_user::can_switch(&task.module) {
        return Err(format!(
            "this task must run as `{user}` (`become`), but dr runs this host's agent as {}, and \
             switches users for one task only in {}{}",
            agent_name(request),
            as_user::switching_modules(),
            if request.agent_user.is_none() {
                " (over SSH, the play's or host's `become` starts the agent as that user; the \
                 local connection runs it as dr's own user)"
            } else {
                ""
            }
        ));
    }
    if method == Method::Su
        && let Some(shell) = as_user::login_shell(&user)
        && !escalation::su_can_run_as(&shell)
    {
        return Err(format!(
            "`become_method: su` cannot run a command as `{user}`: its login shell is `{shell}`, \
             which refuses (Ansible's `su` fails there too); use `become_method: sudo`"
        ));
    }
    if !rustix::process::geteuid().is_root() {
        return Err(format!(
            "this task must run as `{user}` (`become`), but dr runs this host's agent as {}, not \
             root, so it cannot switch users{}",
            agent_name(request),
            if request.agent_user.is_none() {
                " (the agent escalates with `sudo` over SSH only: on the local connection, run dr as root)"
            } else {
                ""
            }
        ));
    }
    Ok(Some(user))
}

/// The escalation mechanism of a task that escalates: the host's `ansible_become_method`
/// over the keyword, with `ansible_become_flags` checked ([`escalation`]).
fn mechanism(task: &Task, scope: &Scope) -> Result<Method, String> {
    if let Some((name, flags)) = variable(scope, "become_flags")? {
        escalation::check_flags(&shown(&flags)).map_err(|e| format!("`{name}`: {e}"))?;
    }
    if let Some((name, _)) = variable(scope, "become_exe")? {
        return Err(format!(
            "`{name}` is not supported by dr: it escalates with `sudo` or `su` as found on the \
             host's PATH"
        ));
    }
    match variable(scope, "become_method")? {
        Some((_, method)) => Method::named(&shown(&method)),
        None => Method::named(task.become_method.as_deref().unwrap_or("sudo")),
    }
}

/// The agent's user, as a message names it.
fn agent_name(request: &Request) -> String {
    match &request.agent_user {
        Some(u) => format!("`{u}`"),
        None => "the login user".to_owned(),
    }
}

/// The rendered `dr_<what>`, else `ansible_<what>`, with the name it was found under.
fn variable(scope: &Scope, what: &str) -> Result<Option<(String, Json)>, String> {
    for name in [format!("dr_{what}"), format!("ansible_{what}")] {
        if let Some(v) = scope.vars().get(&name) {
            let v = scope
                .render_value(v)
                .map_err(|e| format!("`{name}`: {e}"))?;
            return Ok(Some((name, v)));
        }
    }
    Ok(None)
}

fn shown(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
