//! The connection variables a task cannot change. dr reaches a host once per play, with the
//! connection its variables named when the play started (`ansible_host`, `ansible_user`,
//! ...). Ansible reads them again for each task, so a task's `vars`, a `set_fact` or an
//! `include_vars` that sets one sends that task elsewhere (another address, user, port or
//! connection). dr cannot, so such a task fails naming the variable, rather than run where
//! the playbook did not say. (`ansible_become*` are honoured per task: `become_.rs`.)

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

/// The connection variables as the play started (absent ones too).
#[derive(Debug, Default)]
pub(super) struct Baseline(Vec<(String, Option<Json>)>);

impl Baseline {
    /// Records the connection variables of `vars`, the host's as the play starts.
    pub(super) fn of(vars: &serde_json::Map<String, Json>) -> Self {
        let names = CONNECTION
            .iter()
            .flat_map(|n| [format!("ansible_{n}"), format!("dr_{n}")]);
        Baseline(
            names
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
