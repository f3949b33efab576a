//! What a playbook says, typed, with locations: plays and their tasks.

use std::path::PathBuf;
use std::time::Duration;

use dr_agent::wire::Task;
use serde_json::{Map, Value};

use crate::diagnostic::Loc;

/// A parsed playbook file (imports inlined).
#[derive(Debug, Clone)]
pub struct Playbook {
    /// The file as given.
    pub path: PathBuf,
    /// Plays in order, including those of imported playbooks.
    pub plays: Vec<PlaySpec>,
    /// The playbook-wide recovery time objective (`- rto_target: 15m` entry).
    pub rto_target: Option<RtoTarget>,
    /// The playbook-wide recovery point objective (`rpo_target: 24h` in that entry).
    pub rpo_target: Option<RtoTarget>,
}

/// One `vars_files` entry: a file, or a list of alternatives of which the first that
/// exists is loaded (as Ansible does).
#[derive(Debug, Clone)]
pub struct VarsFile {
    /// The name, or the alternatives in order (each may be a template).
    pub names: Vec<String>,
    /// Where the entry is.
    pub loc: Loc,
}

/// A recovery time (or point) objective as written (`5m`) and as a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtoTarget {
    /// As written.
    pub text: String,
    /// Parsed.
    pub duration: Duration,
}

/// One play.
#[derive(Debug, Clone)]
pub struct PlaySpec {
    /// `name:`, or `hosts:` when there is no name (as Ansible shows it).
    pub name: String,
    /// Where the play starts.
    pub loc: Loc,
    /// The host pattern.
    pub hosts: String,
    /// Where `hosts:` is.
    pub hosts_loc: Loc,
    /// Play vars.
    pub vars: Map<String, Value>,
    /// `vars_files:` as written, relative to the playbook's directory, with locations.
    pub vars_files: Vec<VarsFile>,
    /// `gather_facts:` (default true, as in Ansible).
    pub gather_facts: bool,
    /// `become:`.
    pub become_: bool,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `become_method:` as written (`None`: sudo).
    pub become_method: Option<String>,
    /// Connection keywords (`remote_user`, `connection`, `port`) as the Ansible variables
    /// they set (`ansible_user`...); inventory variables win over them, as in Ansible.
    pub connection_vars: Map<String, Value>,
    /// Defaults of the play's roles (below inventory variables).
    pub role_defaults: Map<String, Value>,
    /// `vars/` of the play's roles (above play `vars_files`).
    pub role_vars: Map<String, Value>,
    /// Roles the play names itself (`roles:`, `import_role`, `include_role`), in order
    /// (`ansible_play_role_names`).
    pub play_roles: Vec<String>,
    /// Roles loaded as a dependency of another (`ansible_dependent_role_names`).
    pub dependent_roles: Vec<String>,
    /// `force_handlers:`, when the play says it (it then wins over `--force-handlers`).
    pub force_handlers: Option<bool>,
    /// `max_fail_percentage:` (0-100).
    pub max_fail_percentage: Option<f64>,
    /// Every task of the play has `ignore_unreachable` (or the play does): a host that
    /// cannot be reached does not fail the play, and the plays after it go on.
    pub ignore_unreachable: bool,
    /// `order:` of the play's hosts.
    pub order: HostOrder,
    /// `strategy:` written as a template, checked once rendered (with its location).
    pub strategy: Option<(String, Loc)>,
    /// Templated `include_tasks`, resolved per host when its request is built.
    pub dynamic_includes: Vec<super::tasks::DynamicInclude>,
    /// Where roles are found (for includes resolved per host).
    pub role_search: super::role::RoleSearch,
    /// `serial:` batch size (hosts per batch), if set.
    pub serial: Option<Value>,
    /// Tasks: facts, `pre_tasks`, roles, `tasks`, `post_tasks` (with the handler flushes
    /// between them), imports and roles expanded.
    pub tasks: Vec<Task>,
    /// Handlers.
    pub handlers: Vec<Task>,
    /// DR extension: plays this one waits for. `None` = the play before; `Some([])` = none.
    pub after: Option<Vec<(String, Loc)>>,
    /// DR extension: this play's recovery time objective.
    pub rto_target: Option<RtoTarget>,
    /// DR extension: this play's recovery point objective (the most data it may lose).
    pub rpo_target: Option<RtoTarget>,
    /// Play tags, inherited by its tasks.
    pub tags: Vec<String>,
    /// The directory of the playbook file that defines the play (`playbook_dir`).
    pub dir: PathBuf,
}

/// `order:`: the order of a play's hosts (`ansible_play_hosts`, `run_once`, `serial`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostOrder {
    /// Inventory order (the default).
    #[default]
    Inventory,
    /// Inventory order reversed.
    ReverseInventory,
    /// By name.
    Sorted,
    /// By name, reversed.
    ReverseSorted,
    /// Random.
    Shuffle,
}

impl HostOrder {
    /// Puts `hosts` (in inventory order) in this order.
    pub fn apply(self, hosts: &mut [String]) {
        match self {
            HostOrder::Inventory => {}
            HostOrder::ReverseInventory => hosts.reverse(),
            HostOrder::Sorted => hosts.sort(),
            HostOrder::ReverseSorted => {
                hosts.sort();
                hosts.reverse();
            }
            HostOrder::Shuffle => {
                let mut seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
                    | 1;
                for i in (1..hosts.len()).rev() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    hosts.swap(i, (seed % (i as u64 + 1)) as usize);
                }
            }
        }
    }
}

/// Parses `90s`, `5m`, `1h30m`, `2h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value
            * match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86400.0,
                _ => return None,
            };
    }
    number.is_empty().then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5 minutes"), None);
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
    }
}
