//! The connection variables a task changes. dr reaches a host once per play, with the
//! connection its variables named when the play started (`ansible_host`, `ansible_user`,
//! ...). Ansible reads them again for each task, so a task's `vars`, a `set_fact` or an
//! `include_vars` that sets one sends that task elsewhere (another address, user, port or
//! connection). dr hands such a task to the controller, which runs it over a connection
//! of its own made with them (`Runner::reconnect`); without the controller it fails naming
//! the variable, rather than run where the playbook did not say. (`ansible_become*` are
//! honoured per task: `become_.rs`.)

use serde_json::Value as Json;

use crate::template::Scope;

/// What each name is called after `ansible_` or `dr_`.
const CONNECTION: &[&str] = &[
    "connection",
    "host",
    "ssh_host",
    "port",
    "ssh_port",
    "user",
    "ssh_user",
    "password",
    "ssh_pass",
    "private_key_file",
    "ssh_private_key_file",
    "ssh_common_args",
    "ssh_extra_args",
];

/// Every connection variable's name (`ansible_` and `dr_` forms).
pub(super) fn names() -> impl Iterator<Item = String> {
    CONNECTION
        .iter()
        .flat_map(|n| [format!("ansible_{n}"), format!("dr_{n}")])
}

/// Whether `name` is a connection variable (a task that sets one connects on its own).
pub fn is_connection_var(name: &str) -> bool {
    name.strip_prefix("ansible_")
        .or_else(|| name.strip_prefix("dr_"))
        .is_some_and(|rest| CONNECTION.contains(&rest))
}

/// The connection variables as the play started (absent ones too).
#[derive(Debug, Default)]
pub(super) struct Baseline(Vec<(String, Option<Json>)>);

impl Baseline {
    /// Records the connection variables of `vars`, the host's as the play starts.
    pub(super) fn of(vars: &serde_json::Map<String, Json>) -> Self {
        Baseline(
            names()
                .map(|n| {
                    let v = vars.get(&n).cloned();
                    (n, v)
                })
                .collect(),
        )
    }

    /// The first connection variable that `scope` (a task's) holds with another value than
    /// the play started with, as an error naming it.
    pub(super) fn changed_in(&self, scope: &Scope) -> Result<(), String> {
        for (name, was) in &self.0 {
            let now = scope.vars().get(name);
            if now == was.as_ref() {
                continue;
            }
            // Both may be templates: what they render to decides.
            let render = |v: Option<&Json>| v.map(|v| scope.render_value(v).ok());
            if now.is_some() && was.is_some() && render(now) == render(was.as_ref()) {
                continue;
            }
            return Err(format!(
                "`{name}` is set for this task (its `vars`, `set_fact` or `include_vars`) to \
                 another value than the play started with: Ansible would connect to the host \
                 again with it, dr reaches a host once per play; set it in the inventory or \
                 the play's `vars`, or move these tasks to a play of their own"
            ));
        }
        Ok(())
    }
}

/// The variables that set what each connection keyword does, which win over it.
fn variables_of(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "remote_user" => &["ansible_user", "ansible_ssh_user", "dr_user", "dr_ssh_user"],
        "port" => &["ansible_port", "ansible_ssh_port", "dr_port", "dr_ssh_port"],
        _ => &["ansible_connection", "dr_connection"],
    }
}

/// A task's `remote_user`, `port` and `connection` keywords that name another connection
/// than the agent was reached by (`login`): each keyword, its rendered value and how the
/// host was reached. As in Ansible, a connection variable of the host (inventory, play or
/// task `vars`, ...) wins over the keyword, the keyword wins over the play's, and the local
/// connection ignores the user and the port.
fn other_connection(
    task: &crate::wire::Task,
    request: &crate::wire::Request,
    scope: &Scope,
) -> Result<Vec<(String, Json, String)>, String> {
    use crate::wire::Login;
    let mut other = Vec::new();
    for (keyword, value) in &task.connection {
        let set_by_variable = variables_of(keyword).iter().any(|name| {
            scope.vars().contains_key(*name)
                && !request.keyword_connection.iter().any(|k| k == name)
        });
        if set_by_variable {
            continue;
        }
        let value = scope
            .render_value(value)
            .map_err(|e| format!("`{keyword}`: {e}"))?;
        let wanted = shown(&value);
        let login = request.login.as_ref();
        let (same, reached) = match (keyword.as_str(), login) {
            ("connection", Some(Login::Local)) => {
                (is_local(&wanted), "the local connection".to_owned())
            }
            ("connection", Some(Login::Ssh { .. })) => (is_ssh(&wanted), "SSH".to_owned()),
            (_, Some(Login::Local)) => continue,
            ("remote_user", Some(Login::Ssh { user, .. })) => {
                (wanted == *user, format!("`{user}`"))
            }
            ("port", Some(Login::Ssh { port, .. })) => {
                (wanted == port.to_string(), format!("port {port}"))
            }
            (_, None) => (false, "a connection the agent was not told of".to_owned()),
            _ => continue,
        };
        if !same {
            other.push((keyword.clone(), value, reached));
        }
    }
    Ok(other)
}

fn shown(value: &Json) -> String {
    match value {
        Json::String(s) => s.trim().to_owned(),
        Json::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Checks a task's `remote_user`, `port` and `connection` keywords against how the agent
/// was reached: one that names another connection fails the task (without the controller,
/// which would connect again for it: see [`keyword_vars`]).
pub(super) fn keywords_hold(
    task: &crate::wire::Task,
    request: &crate::wire::Request,
    scope: &Scope,
) -> Result<(), String> {
    if let Some((keyword, value, reached)) = other_connection(task, request, scope)?.first() {
        let wanted = shown(value);
        return Err(format!(
            "`{keyword}: {wanted}` on this task names another connection than this host's \
             play reached it by ({reached}): Ansible would connect to the host again for \
             it, dr reaches a host once per play without the controller; set it on the play \
             (or as a connection variable of the host), or move these tasks to a play of \
             their own"
        ));
    }
    Ok(())
}

/// The connection variables a task's keywords stand for when they name another connection
/// than the agent was reached by (`remote_user` → `ansible_user`, ...): the task connects
/// again with them, as in Ansible. Empty when they name the same one (or do not render:
/// the task then fails with the error).
pub(super) fn keyword_vars(
    task: &crate::wire::Task,
    request: &crate::wire::Request,
    scope: &Scope,
) -> serde_json::Map<String, Json> {
    let variable = |keyword: &str| match keyword {
        "remote_user" => "ansible_user",
        "port" => "ansible_port",
        _ => "ansible_connection",
    };
    other_connection(task, request, scope)
        .unwrap_or_default()
        .into_iter()
        .map(|(keyword, value, _)| (variable(&keyword).to_owned(), value))
        .collect()
}

fn is_local(connection: &str) -> bool {
    matches!(connection, "local" | "ansible.builtin.local")
}

fn is_ssh(connection: &str) -> bool {
    matches!(
        connection,
        "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh" | "ansible.builtin.paramiko_ssh"
    )
}
