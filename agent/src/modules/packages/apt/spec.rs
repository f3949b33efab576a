//! What an `apt` task says: Ansible's arguments, names and aliases, as written.

use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

use super::super::ArgsError;
use super::super::args::{bool_ish, opt_bool_ish, opt_text};

/// Ansible's default `dpkg_options`.
pub const DPKG_OPTIONS: &str = "force-confdef,force-confold";

/// The arguments of an `apt` task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptSpec {
    #[serde(default)]
    pub state: State,
    #[serde(default, alias = "update-cache", deserialize_with = "opt_bool_ish")]
    pub update_cache: Option<bool>,
    #[serde(default = "five", deserialize_with = "int_ish")]
    pub update_cache_retries: u64,
    #[serde(default = "twelve", deserialize_with = "int_ish")]
    pub update_cache_retry_max_delay: u64,
    /// Seconds the cache stays fresh; 0 (the default) means "no limit given".
    #[serde(default, deserialize_with = "int_ish")]
    pub cache_valid_time: u64,
    #[serde(default, deserialize_with = "bool_ish")]
    pub purge: bool,
    /// `name`, `pkg` and `package`: a list, or a comma-separated string.
    #[serde(default, alias = "name", alias = "pkg")]
    pub package: Json,
    #[serde(default, deserialize_with = "opt_text")]
    pub deb: Option<String>,
    #[serde(default, alias = "default-release", deserialize_with = "opt_text")]
    pub default_release: Option<String>,
    #[serde(
        default,
        alias = "install-recommends",
        deserialize_with = "opt_bool_ish"
    )]
    pub install_recommends: Option<bool>,
    #[serde(default, deserialize_with = "bool_ish")]
    pub force: bool,
    #[serde(default, deserialize_with = "opt_text")]
    pub upgrade: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub dpkg_options: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    pub autoremove: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub autoclean: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub fail_on_autoremove: bool,
    #[serde(default, deserialize_with = "super::super::args::opt_int")]
    pub policy_rc_d: Option<u64>,
    #[serde(default, deserialize_with = "bool_ish")]
    pub only_upgrade: bool,
    /// dr always runs `apt-get`; `false` only matters for upgrades where aptitude exists.
    #[serde(default, deserialize_with = "bool_ish")]
    pub force_apt_get: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub clean: bool,
    #[serde(
        default,
        alias = "allow-unauthenticated",
        deserialize_with = "bool_ish"
    )]
    pub allow_unauthenticated: bool,
    #[serde(
        default,
        alias = "allow-downgrade",
        alias = "allow_downgrades",
        alias = "allow-downgrades",
        deserialize_with = "bool_ish"
    )]
    pub allow_downgrade: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    pub allow_change_held_packages: bool,
    #[serde(default = "sixty", deserialize_with = "int_ish")]
    pub lock_timeout: u64,
    /// Ansible installs python3-apt for itself; the native module needs no bindings, so
    /// either value holds trivially.
    #[serde(
        default,
        rename = "auto_install_module_deps",
        deserialize_with = "bool_ish"
    )]
    pub _auto_install_module_deps: bool,
}

fn five() -> u64 {
    5
}
fn twelve() -> u64 {
    12
}
fn sixty() -> u64 {
    60
}

/// Ansible's `state` choices (2.19 has no `installed`/`removed` for `apt`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
    Latest,
    Fixed,
    #[serde(rename = "build-dep")]
    BuildDep,
}

/// Ansible's `upgrade` choices, `no` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// `yes` and `safe`: `apt-get upgrade --with-new-pkgs`.
    Safe,
    /// `full` (with apt-get) and `dist`: `apt-get dist-upgrade`.
    Dist,
}

impl AptSpec {
    /// `upgrade`, checked against Ansible's choices.
    pub fn upgrade(&self) -> Result<Option<Upgrade>, ArgsError> {
        match self.upgrade.as_deref() {
            None | Some("no") => Ok(None),
            Some("yes" | "safe") => Ok(Some(Upgrade::Safe)),
            Some("dist" | "full") => Ok(Some(Upgrade::Dist)),
            Some(other) => Err(ArgsError::new(
                "apt",
                format!("value of upgrade must be one of: dist, full, no, safe, yes, got: {other}"),
            )),
        }
    }

    /// The package specs, `package` as a list or a comma-separated string.
    pub fn packages(&self) -> Result<Vec<String>, ArgsError> {
        let items: Vec<String> = match &self.package {
            Json::Null => Vec::new(),
            Json::String(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
            Json::Array(items) => items
                .iter()
                .map(|i| match i {
                    Json::String(s) => Ok(s.clone()),
                    Json::Number(n) => Ok(n.to_string()),
                    other => Err(ArgsError::new(
                        "apt",
                        format!("Invalid type for package name, expected string but got {other}"),
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => vec![other.to_string()],
        };
        Ok(items)
    }
}

/// Ansible's `type='int'`: a number, or a string holding one.
fn int_ish<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    super::super::args::opt_int(d).map(Option::unwrap_or_default)
}
