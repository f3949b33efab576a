//! Ansible's magic variables that the controller knows: of the run (`ansible_run_tags`,
//! `ansible_limit`, `ansible_version`, ...), of a host's inventory source (`inventory_file`,
//! `inventory_dir`) and of a play (`ansible_play_hosts_all`, `ansible_role_names`). The
//! agent adds those of the moment (`ansible_check_mode`, `ansible_loop`, ...).

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::RunArgs;
use crate::inventory::Inventory;
use crate::playbook::PlaySpec;

use super::vars::absolute;

/// The ansible-core release whose semantics dr implements (`ansible_version`).
pub const ANSIBLE_VERSION: (u32, u32, u32) = (2, 19, 14);

/// Variables of the whole run.
pub fn run_level(args: &RunArgs, forks: usize, config_file: Option<&Path>) -> Map<String, Value> {
    let split = |list: &[String]| -> Vec<String> {
        list.iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut run_tags = split(&args.tags);
    if run_tags.is_empty() {
        run_tags.push("all".into());
    }
    let (major, minor, revision) = ANSIBLE_VERSION;
    let full = format!("{major}.{minor}.{revision}");
    let mut m = Map::new();
    m.insert("ansible_run_tags".into(), json!(run_tags));
    m.insert("ansible_skip_tags".into(), json!(split(&args.skip_tags)));
    if let Some(limit) = &args.inventory.limit {
        m.insert("ansible_limit".into(), json!(limit));
    }
    m.insert("ansible_forks".into(), json!(forks));
    m.insert(
        "ansible_verbosity".into(),
        json!(crate::output::verbosity()),
    );
    m.insert(
        "ansible_inventory_sources".into(),
        json!(
            args.inventory
                .inventory
                .iter()
                .map(|p| absolute(p))
                .collect::<Vec<_>>()
        ),
    );
    m.insert(
        "ansible_version".into(),
        json!({"full": full, "string": full, "major": major, "minor": minor, "revision": revision}),
    );
    if let Some(python) = crate::bridge::playbook_python() {
        m.insert(
            "ansible_playbook_python".into(),
            json!(python.display().to_string()),
        );
    }
    m.insert(
        "ansible_config_file".into(),
        config_file.map_or(Value::Null, |p| json!(absolute(p))),
    );
    m
}

/// `inventory_file` and `inventory_dir`: the inventory file where `host` first appears, as
/// Ansible sets them (below the host's inventory variables).
pub fn host_level(inv: &Inventory, host: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let file = inv
        .host(host)
        .and_then(|h| h.loc.as_ref())
        .map(|loc| loc.file.to_string())
        .filter(|f| !f.is_empty());
    match file {
        Some(file) => {
            let file = absolute(Path::new(&file));
            let dir = Path::new(&file)
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            m.insert("inventory_file".into(), json!(file));
            m.insert("inventory_dir".into(), json!(dir));
        }
        None => {
            m.insert("inventory_file".into(), Value::Null);
            m.insert("inventory_dir".into(), Value::Null);
        }
    }
    m
}

/// Variables of a play: every host it targets (`ansible_play_hosts_all`, a null keeping
/// its place: the request carries it shared, see `play_vars`) and the roles it runs, as
/// Ansible names them: those the play names itself, those loaded as dependencies, and all
/// of them.
pub fn play_level(play: &PlaySpec) -> Map<String, Value> {
    let mut all: Vec<&String> = play.play_roles.iter().collect();
    for dep in &play.dependent_roles {
        if !all.contains(&dep) {
            all.push(dep);
        }
    }
    let mut m = Map::new();
    m.insert("ansible_play_hosts_all".into(), Value::Null);
    m.insert("ansible_role_names".into(), json!(all));
    m.insert("ansible_play_role_names".into(), json!(play.play_roles));
    m.insert("role_names".into(), json!(play.play_roles));
    m.insert(
        "ansible_dependent_role_names".into(),
        json!(play.dependent_roles),
    );
    m
}
