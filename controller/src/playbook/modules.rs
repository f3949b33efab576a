//! What the parser knows about modules: their names and accepted arguments.

use dr_agent::modules;

use crate::bridge::{self, Resolved};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::Node;

/// Collection prefixes Ansible users write; `ansible.builtin.copy` is `copy`.
const PREFIXES: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "community.general.",
    "community.docker.",
    "community.postgresql.",
    "ansible.posix.",
];

/// Ansible names that map to a dr module.
const ALIASES: &[(&str, &str)] = &[
    ("docker_compose_v2", "compose"),
    ("docker_compose", "compose"),
    ("systemd_service", "systemd"),
    // Ansible's `gather_facts` action runs the facts module, `setup`, with its arguments.
    ("gather_facts", "setup"),
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
    /// A module of the installed ansible-core or a collection, by its fully qualified
    /// name, run through the module bridge.
    Bridged(String),
}

/// The short name for `name` (prefix stripped, alias resolved) when it names a native
/// module or a keyword; any other name is returned as written (the bridge resolves it).
pub fn canonical(name: &str) -> &str {
    let Some(short) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else {
        return alias(name);
    };
    let resolved = alias(short);
    let builtin = name.starts_with("ansible.builtin.") || name.starts_with("ansible.legacy.");
    if builtin || short != resolved || modules::ALL.iter().any(|m| m.name() == short) {
        resolved
    } else {
        // `community.general.ini_file` is that collection's module, not a native `ini_file`.
        name
    }
}

fn alias(short: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == short)
        .map_or(short, |(_, real)| real)
}

/// Looks up a native module by (canonical) name.
pub fn lookup(name: &str) -> Option<Known> {
    if let Some(m) = modules::ALL.iter().find(|m| m.name() == name) {
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

/// The name a task's module key `written` (in `task_file`) runs as: itself, or the builtin
/// action that a project's action plugin of that name only re-exports.
pub fn runs_as(written: &str, task_file: &str) -> String {
    if lookup(canonical(written)).is_none()
        && let Some(alias) = super::action_plugin::builtin_alias(task_file, written)
        && lookup(&alias).is_some()
    {
        return alias;
    }
    written.to_owned()
}

/// `apt` for a `package` task whose arguments dr's `package` does not take and `apt` does
/// (`allow_downgrade`, `default_release`, ...): Ansible runs `package` as `apt` on Debian.
pub fn package_as_apt(name: &str, args: &serde_json::Value) -> Option<Known> {
    let (Some(Known::Module { args: own, .. }), Some(apt @ Known::Module { args: apt_args, .. })) =
        (lookup(name).filter(|_| name == "package"), lookup("apt"))
    else {
        return None;
    };
    let keys: Vec<&String> = args
        .as_object()?
        .keys()
        .filter(|k| !k.starts_with('_'))
        .collect();
    let needs_apt = keys.iter().any(|k| !own.contains(&k.as_str()));
    let apt_takes_all = keys.iter().all(|k| apt_args.contains(&k.as_str()));
    (needs_apt && apt_takes_all).then_some(apt)
}

/// Whether every argument of a `package` task that `apt` does not take is one of another
/// package manager's (`dnf`, `yum`: `enablerepo`, `disable_gpg_check`, ...): a task meant
/// for other hosts, which Ansible fails only when it runs on a Debian one.
pub fn for_other_package_managers(args: &serde_json::Value) -> bool {
    const OTHERS: &[&str] = &[
        "allowerasing",
        "autoremove",
        "best",
        "bugfix",
        "cacheonly",
        "conf_file",
        "disable_excludes",
        "disable_gpg_check",
        "disable_plugin",
        "disablerepo",
        "download_dir",
        "download_only",
        "enable_plugin",
        "enablerepo",
        "exclude",
        "install_repoquery",
        "install_weak_deps",
        "installroot",
        "list",
        "nobest",
        "releasever",
        "security",
        "skip_broken",
        "sslverify",
        "update_only",
        "use",
        "use_backend",
        "validate_certs",
    ];
    let Some(Known::Module { args: apt, .. }) = lookup("apt") else {
        return false;
    };
    args.as_object().is_some_and(|map| {
        map.keys()
            .filter(|k| !k.starts_with('_') && !apt.contains(&k.as_str()))
            .all(|k| OTHERS.contains(&k.as_str()))
    })
}

/// Whether `written` names a module for another kind of host than dr's Linux ones (another
/// distribution's package manager, Windows): Ansible fails such a task on a Debian host
/// only when it runs, so a role for several systems, whose `when` picks the tasks, runs.
pub fn is_foreign(written: &str) -> bool {
    const FOREIGN: &[&str] = &[
        "dnf",
        "dnf5",
        "yum",
        "zypper",
        "zypper_repository",
        "pacman",
        "apk",
        "pkgng",
        "openbsd_pkg",
        "homebrew",
        "homebrew_cask",
        "homebrew_tap",
        "macports",
        "portage",
        "rpm_key",
        "slackpkg",
        "swdepot",
        "pkgutil",
        "sorcery",
        "xbps",
        "urpmi",
        "pkg5",
        "opkg",
    ];
    let short = written.rsplit('.').next().unwrap_or(written);
    let collection = written.rsplit_once('.').map(|(c, _)| c);
    let ours = matches!(
        collection,
        None | Some("ansible.builtin" | "ansible.legacy" | "community.general")
    );
    (ours && FOREIGN.contains(&short))
        || (short.starts_with("win_")
            && matches!(
                collection,
                None | Some("ansible.windows" | "community.windows" | "ansible.builtin")
            ))
}

/// What a module name as written resolves to: a native module, else a module of the
/// installed ansible-core or collections run through the bridge.
pub fn resolve(written: &str) -> Result<Known, NotRun> {
    if let Some(known) = lookup(canonical(written)) {
        return Ok(known);
    }
    let catalog = bridge::catalog().map_err(|why| NotRun::NoAnsible(why.to_owned()))?;
    if let Some(fqcn) = bridge::library_module(written) {
        return Ok(Known::Bridged(fqcn));
    }
    match catalog.resolve(written) {
        Resolved::Bridged(fqcn) => Ok(Known::Bridged(fqcn)),
        Resolved::NeedsAction(fqcn) if bridge::synchronize::bridges(&fqcn) => {
            Ok(Known::Bridged(fqcn))
        }
        Resolved::NeedsAction(fqcn) => Err(NotRun::NeedsAction(fqcn)),
        Resolved::Executor(fqcn) => Err(NotRun::Executor(fqcn)),
        Resolved::Unknown => Err(NotRun::Unknown),
    }
}

/// Why a module name does not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRun {
    /// Neither dr nor the installed ansible-core and collections have it.
    Unknown,
    /// Not native, and no ansible-core was found to bridge it (the reason).
    NoAnsible(String),
    /// Ansible runs it with an action plugin on the controller, which dr does not run.
    NeedsAction(String),
    /// Ansible's executor handles it; not a module.
    Executor(String),
}

/// The located error for a module name that does not run; `keywords` feed "did you mean".
pub fn not_run(
    key: &Node,
    written: &str,
    why: NotRun,
    keywords: &'static [&'static str],
) -> Diagnostic {
    let native = || did_you_mean(written, all_names().chain(keywords.iter().copied()));
    if matches!(why, NotRun::Unknown | NotRun::NoAnsible(_))
        && let Some(plugin) = super::action_plugin::find_beside(&key.loc.file, written)
    {
        return Diagnostic::new(
            key.loc.clone(),
            format!(
                "`{written}` is the action plugin `{}`, which dr cannot run",
                plugin.display()
            ),
        )
        .with_help(
            "Ansible runs a project's action plugins (Python) on the controller; dr runs modules on the host and does not run Python action plugins: write the task with a module dr runs",
        );
    }
    let (message, help) = match why {
        NotRun::NeedsAction(fqcn) => (
            format!("module `{written}` is not supported by dr"),
            format!(
                "Ansible runs `{fqcn}` with an action plugin on the controller; dr runs modules on the host only, and has no native `{written}` yet"
            ),
        ),
        NotRun::Executor(fqcn) => (
            format!("`{written}` is not supported by dr here"),
            format!("`{fqcn}` is handled by Ansible's executor, not a module"),
        ),
        NotRun::NoAnsible(why) => match native() {
            Some(hint) => (format!("unknown module or keyword `{written}`"), hint),
            None => (
                format!(
                    "module `{written}` is not built into dr, and no ansible-core was found to run it"
                ),
                format!(
                    "dr runs other modules with Ansible's own code: install ansible-core (`pip install ansible-core`, plus the collection that has `{written}`) so that `ansible-playbook` is on PATH, or name its Python in dr.toml (`ansible_python = \"/path/to/python3\"`); {why}"
                ),
            ),
        },
        NotRun::Unknown => {
            let bridged: Vec<&str> = bridge::catalog()
                .map(|c| c.bridgeable().collect())
                .unwrap_or_default();
            let short: Vec<&str> = bridged
                .iter()
                .filter_map(|b| b.strip_prefix("ansible.builtin."))
                .collect();
            let help = did_you_mean(
                written,
                all_names()
                    .chain(keywords.iter().copied())
                    .chain(short.iter().copied())
                    .chain(bridged.iter().copied()),
            )
            .unwrap_or_else(|| "run `dr modules` to list the modules dr knows".into());
            (format!("unknown module or keyword `{written}`"), help)
        }
    };
    Diagnostic::new(key.loc.clone(), message).with_help(help)
}

/// Every module name, for "did you mean".
pub fn all_names() -> impl Iterator<Item = &'static str> {
    modules::ALL
        .iter()
        .map(|m| m.name())
        .chain(modules::PLANNED.iter().copied())
}
