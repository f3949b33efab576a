//! What the parser knows about modules: their names and accepted arguments.

use dr_agent::modules;

/// Collection prefixes Ansible users write; `ansible.builtin.copy` is `copy`.
const PREFIXES: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "community.general.",
    "community.docker.",
    "community.postgresql.",
];

/// Ansible names that map to a dr module.
const ALIASES: &[(&str, &str)] = &[
    ("docker_compose_v2", "compose"),
    ("docker_compose", "compose"),
    ("postgresql_query", "postgres_query"),
    ("postgresql_info", "postgres_facts"),
    ("apt", "package"),
    ("systemd", "service"),
    ("systemd_service", "service"),
];

/// Task keywords that expand at parse time rather than run as modules.
pub const IMPORTS: &[&str] = &[
    "import_tasks",
    "include_tasks",
    "import_role",
    "include_role",
];

/// What the parser knows of a module name.
pub enum Known {
    /// A module this build runs, with its accepted argument names.
    Module {
        /// Short name.
        name: &'static str,
        /// Accepted argument names.
        args: &'static [&'static str],
        /// Accepts a free-form string.
        free_form: bool,
    },
    /// A module of the playbook language this build does not run yet.
    Planned(&'static str),
}

/// The short name for `name` (prefix stripped, alias resolved).
pub fn canonical(name: &str) -> &str {
    let short = PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == short)
        .map_or(short, |(_, real)| real)
}

/// Looks up a module by (canonical) name.
pub fn lookup(name: &str) -> Option<Known> {
    if let Some(m) = modules::lookup(name) {
        return Some(Known::Module {
            name: m.name(),
            args: m.arg_names(),
            free_form: m.free_form(),
        });
    }
    modules::PLANNED
        .iter()
        .find(|p| **p == name)
        .map(|p| Known::Planned(p))
}

/// Every module name, for "did you mean".
pub fn all_names() -> impl Iterator<Item = &'static str> {
    modules::ALL
        .iter()
        .map(|m| m.name())
        .chain(modules::PLANNED.iter().copied())
}
