//! The fact cache settings as Ansible reads them: an environment variable, else
//! `ansible.cfg`'s `[defaults]` key, else the default; each remembers where it came from,
//! so a refusal can say so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ansible_cfg::FactCaching;
use crate::diagnostic::{Diagnostic, Loc};

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(&'static str),
    /// A line of `ansible.cfg`.
    File(PathBuf, u32),
    /// Ansible's default.
    Default,
}

impl Origin {
    /// The place an error about the setting points at.
    pub fn loc(&self) -> Loc {
        match self {
            Origin::Env(name) => Loc::new(Arc::from(*name), 1, 1),
            Origin::File(path, line) => Loc::new(Arc::from(path.display().to_string()), *line, 1),
            Origin::Default => Loc::new(Arc::from("ANSIBLE_CACHE_PLUGIN"), 1, 1),
        }
    }

    /// How a message names the setting: `ANSIBLE_CACHE_PLUGIN`, or the key in the file.
    fn named(&self, key: &str) -> String {
        match self {
            Origin::Env(name) => format!("`{name}`"),
            Origin::File(path, line) => format!("`{key}` ({}:{line})", path.display()),
            Origin::Default => format!("`{key}`"),
        }
    }
}

/// One setting's value and origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it was set.
    pub from: Origin,
}

/// What the fact cache is: Ansible's `memory` (nothing kept across runs) or `jsonfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plugin {
    /// No cache across runs (Ansible's default).
    Memory,
    /// One JSON file per host in a directory.
    JsonFile {
        /// The directory (`fact_caching_connection`), as set (not yet created).
        dir: PathBuf,
        /// Put before each file's name (`fact_caching_prefix`; none by default).
        prefix: String,
        /// Seconds a file stays valid after it was written; 0: forever.
        timeout: i64,
    },
}

/// Environment variables, looked up by name (the process's, or a test's).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The cache plugin from the environment and `ansible.cfg` (`cfg`, read from `cfg_path`).
/// A plugin dr does not implement, or a `jsonfile` cache without a directory, is refused
/// with the setting's origin (Ansible warns and keeps no cache; dr does not run with a
/// setting it cannot honour).
pub fn plugin(
    cfg: &FactCaching,
    cfg_path: Option<&Path>,
    env: Env<'_>,
) -> Result<Plugin, Diagnostic> {
    let in_file =
        |line: u32| Origin::File(cfg_path.map(Path::to_path_buf).unwrap_or_default(), line);
    let pick = |var: &'static str, from_cfg: Option<(String, u32)>| -> Option<Setting<String>> {
        match env(var) {
            Some(v) => Some(Setting {
                value: v,
                from: Origin::Env(var),
            }),
            None => from_cfg.map(|(value, line)| Setting {
                value,
                from: in_file(line),
            }),
        }
    };
    let name = pick("ANSIBLE_CACHE_PLUGIN", cfg.plugin.clone())
        .filter(|s| !s.value.is_empty())
        .unwrap_or(Setting {
            value: "memory".into(),
            from: Origin::Default,
        });
    match name.value.as_str() {
        "memory" | "ansible.builtin.memory" => return Ok(Plugin::Memory),
        "jsonfile" | "ansible.builtin.jsonfile" => {}
        other => {
            return Err(Diagnostic::new(
                name.from.loc(),
                format!(
                    "the `{other}` fact cache plugin (set by {}) is not supported by dr",
                    name.from.named("fact_caching")
                ),
            )
            .with_help("dr keeps facts across runs with `jsonfile` only (Ansible's file format); use `jsonfile`, or `memory` for no cache"));
        }
    }
    let connection = cfg
        .connection
        .clone()
        .map(|(p, line)| (p.display().to_string(), line));
    let Some(dir) =
        pick("ANSIBLE_CACHE_PLUGIN_CONNECTION", connection).filter(|s| !s.value.is_empty())
    else {
        return Err(Diagnostic::new(
            name.from.loc(),
            format!(
                "the `jsonfile` fact cache (set by {}) needs a directory, and none is set",
                name.from.named("fact_caching")
            ),
        )
        .with_help("set `ANSIBLE_CACHE_PLUGIN_CONNECTION`, or `fact_caching_connection` in ansible.cfg's `[defaults]`"));
    };
    let dir_path = match dir.from {
        // Relative to the working directory; `~` and `$VAR` expanded, as Ansible's paths.
        Origin::Env(_) => crate::ansible_cfg::resolve(&dir.value, Path::new("")),
        _ => PathBuf::from(&dir.value),
    };
    let prefix = pick("ANSIBLE_CACHE_PLUGIN_PREFIX", cfg.prefix.clone())
        .map(|s| s.value)
        .unwrap_or_default();
    let timeout = match env("ANSIBLE_CACHE_PLUGIN_TIMEOUT") {
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            Diagnostic::new(
                Origin::Env("ANSIBLE_CACHE_PLUGIN_TIMEOUT").loc(),
                format!("`ANSIBLE_CACHE_PLUGIN_TIMEOUT` must be a number of seconds, not `{v}`"),
            )
        })?,
        None => cfg.timeout.map_or(DEFAULT_TIMEOUT, |(t, _)| t),
    };
    Ok(Plugin::JsonFile {
        dir: dir_path,
        prefix,
        timeout,
    })
}

/// Ansible's `fact_caching_timeout` default: a day.
pub const DEFAULT_TIMEOUT: i64 = 86_400;

/// The process's environment, an empty variable as unset for all but the prefix (an
/// empty `ANSIBLE_CACHE_PLUGIN_PREFIX` means no prefix, as in Ansible).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty() || name == "ANSIBLE_CACHE_PLUGIN_PREFIX")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn memory_by_default() {
        let env = env_of(&[]);
        assert_eq!(
            plugin(&FactCaching::default(), None, &env).unwrap(),
            Plugin::Memory
        );
    }

    #[test]
    fn jsonfile_from_the_environment_over_the_file() {
        let env = env_of(&[
            ("ANSIBLE_CACHE_PLUGIN", "ansible.builtin.jsonfile"),
            ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "/var/cache/facts"),
            ("ANSIBLE_CACHE_PLUGIN_PREFIX", "prefix_"),
        ]);
        let cfg = FactCaching {
            plugin: Some(("redis".into(), 3)),
            timeout: Some((60, 4)),
            ..FactCaching::default()
        };
        assert_eq!(
            plugin(&cfg, Some(Path::new("ansible.cfg")), &env).unwrap(),
            Plugin::JsonFile {
                dir: PathBuf::from("/var/cache/facts"),
                prefix: "prefix_".into(),
                timeout: 60,
            }
        );
    }

    #[test]
    fn an_unsupported_plugin_is_refused_where_it_was_set() {
        let env = env_of(&[]);
        let cfg = FactCaching {
            plugin: Some(("redis".into(), 7)),
            ..FactCaching::default()
        };
        let err = plugin(&cfg, Some(Path::new("conf/ansible.cfg")), &env).unwrap_err();
        assert_eq!(err.loc.to_string(), "conf/ansible.cfg:7:1");
        assert!(err.message.contains("`redis`"), "{}", err.message);
        assert!(
            err.message.contains("conf/ansible.cfg:7"),
            "{}",
            err.message
        );
        let env = env_of(&[("ANSIBLE_CACHE_PLUGIN", "yaml")]);
        let err = plugin(&FactCaching::default(), None, &env).unwrap_err();
        assert_eq!(err.loc.file.as_ref(), "ANSIBLE_CACHE_PLUGIN");
        assert!(
            err.message.contains("`ANSIBLE_CACHE_PLUGIN`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn jsonfile_needs_a_directory() {
        let env = env_of(&[("ANSIBLE_CACHE_PLUGIN", "jsonfile")]);
        let err = plugin(&FactCaching::default(), None, &env).unwrap_err();
        assert!(err.message.contains("needs a directory"), "{}", err.message);
    }

    #[test]
    fn a_bad_timeout_is_refused() {
        let env = env_of(&[
            ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
            ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "/tmp/x"),
            ("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "soon"),
        ]);
        let err = plugin(&FactCaching::default(), None, &env).unwrap_err();
        assert_eq!(err.loc.file.as_ref(), "ANSIBLE_CACHE_PLUGIN_TIMEOUT");
    }
}
