//! Ansible inventories (YAML, INI, `-i host1,host2,` lists): hosts, groups, their vars, and
//! host patterns.

mod address;
mod detect;
mod host_list;
mod index;
mod ini;
mod ini_text;
mod model;
mod pattern;
mod py_literal;
mod py_token;
mod py_value;
mod range;
mod reconcile;
mod runtime;
mod shlex;
mod source;
pub mod vars_dirs;

pub use model::{Group, Host, IMPLICIT_LOCALHOST, Inventory};
pub use pattern::PatternError;
pub use source::load;

use serde_json::{Map, Value};

/// How dr reaches a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// In process, on the controller machine.
    Local,
    /// Over SSH.
    Ssh {
        /// Address to connect to (`ansible_host`, else the inventory name).
        address: String,
        /// Port (`ansible_port`, else 22).
        port: u16,
        /// Login user (`ansible_user`, else the current user).
        user: Option<String>,
    },
}

/// Reads `dr_<name>` or `ansible_<name>` (dr's wins) from merged host vars.
pub fn connection_var<'a>(vars: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    vars.get(&format!("dr_{name}"))
        .or_else(|| vars.get(&format!("ansible_{name}")))
}

/// The user a host's agent is started as through `sudo` (`None`: the login user): the
/// host's `ansible_become`/`ansible_become_user` variables (`dr_*` first) over the play's
/// keywords (`keyword`: the user its `become` escalates to), as in Ansible. A templated
/// `ansible_become` is not escalated here; the agent renders it for each task.
pub fn escalation(vars: &Map<String, Value>, keyword: Option<&str>) -> Option<String> {
    let on = match connection_var(vars, "become") {
        Some(v) => dr_agent::modules::json_bool(v) == Some(true),
        None => keyword.is_some(),
    };
    on.then(|| match connection_var(vars, "become_user") {
        Some(Value::String(u)) => u.clone(),
        _ => keyword.unwrap_or("root").to_owned(),
    })
}

/// How a host's agent is started when it escalates: the host's `ansible_become_method`
/// (`dr_*` first) over the play's keyword (`keyword`, as written), sudo by default; a
/// method or `ansible_become_flags` dr does not run, or `ansible_become_exe`, is refused.
/// A templated one is left to the agent, which renders it for each task.
pub fn escalation_method(
    vars: &Map<String, Value>,
    keyword: Option<&str>,
) -> Result<dr_agent::escalation::Method, String> {
    let literal = |name: &str| {
        connection_var(vars, name)
            .and_then(Value::as_str)
            .filter(|s| !dr_agent::template::is_template(s))
    };
    if let Some(flags) = literal("become_flags") {
        dr_agent::escalation::check_flags(flags).map_err(|e| format!("the host's {e}"))?;
    }
    if connection_var(vars, "become_exe").is_some() {
        return Err("the host's `ansible_become_exe` is not supported by dr: it escalates with                     `sudo` or `su` as found on the host's PATH"
            .into());
    }
    let name = literal("become_method").or(keyword).unwrap_or("sudo");
    dr_agent::escalation::Method::named(name)
}

/// How to reach `host`, from its merged vars. `localhost` without vars is local, as in Ansible.
pub fn connection_of(host: &str, vars: &Map<String, Value>) -> Connection {
    let text = |name: &str| {
        connection_var(vars, name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let kind = text("connection");
    let local = match kind.as_deref() {
        Some("local") => true,
        Some(_) => false,
        None => host == "localhost" || host == "127.0.0.1",
    };
    if local {
        return Connection::Local;
    }
    Connection::Ssh {
        address: text("host").unwrap_or_else(|| host.to_owned()),
        port: text("port").and_then(|p| p.parse().ok()).unwrap_or(22),
        user: text("user"),
    }
}
