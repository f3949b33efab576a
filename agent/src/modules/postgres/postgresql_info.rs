//! `postgresql_info` (community.postgresql): what a PostgreSQL server holds, in the
//! collection's shape: `version` (`major`, `minor`, `patch`, `full`, `raw`),
//! `in_recovery`, `databases` (owner, encoding, collate, ctype, access_priv, size, and per
//! database its `namespaces`, `extensions`, `languages`, `publications`, `subscriptions`),
//! `roles` (superuser, canlogin, valid_until, member_of), `settings` (setting, unit,
//! context, vartype, boot_val, min_val, max_val, sourcefile, pretty_val, val_in_bytes,
//! pending_restart), `pending_restart_settings`, `tablespaces`, `replications` and
//! `repl_slots`. `filter` limits the subsets as the collection's does (`fnmatch` patterns,
//! `!` to leave out, excluding patterns ignored when any includes). Reads only: never a
//! change, the same in check mode.

mod subsets;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::unarchive::select::fnmatch;
use super::{Context, Module, ModuleError, Outcome, Plan, parse_args};

/// The `postgresql_info` module.
pub struct PostgresqlInfo;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoSpec {
    #[serde(default, deserialize_with = "opt_text")]
    login_db: Option<String>,
    #[serde(default)]
    filter: Option<Json>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
}

const OWN_ARGS: &[&str] = &["login_db", "filter", "session_role", "trust_input"];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

/// The subsets, in the collection's order.
pub(in crate::modules) const SUBSETS: &[&str] = &[
    "version",
    "in_recovery",
    "tablespaces",
    "databases",
    "replications",
    "repl_slots",
    "settings",
    "roles",
];

/// Ansible's `type='list', elements='str'`: a list, or a comma-separated string.
fn filter_list(v: Option<&Json>) -> Result<Vec<String>, ModuleError> {
    let bad = || {
        ModuleError::Failed("`filter` must be a list of strings or a comma-separated string".into())
    };
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::String(s)) => Ok(s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()),
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// The subsets `filter` selects, as the collection's `collect` selects them.
pub(in crate::modules) fn selected(filter: &[String]) -> Vec<&'static str> {
    if filter.is_empty() {
        return SUBSETS.to_vec();
    }
    let (excl, incl): (Vec<&String>, Vec<&String>) =
        filter.iter().partition(|f| f.starts_with('!'));
    if !incl.is_empty() {
        SUBSETS
            .iter()
            .copied()
            .filter(|s| incl.iter().any(|p| fnmatch(p, s)))
            .collect()
    } else {
        SUBSETS
            .iter()
            .copied()
            .filter(|s| !excl.iter().any(|p| fnmatch(p.trim_start_matches('!'), s)))
            .collect()
    }
}

impl Module for PostgresqlInfo {
    fn name(&self) -> &'static str {
        "postgresql_info"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_info", args, ctx.environment, ctx.become_user)?;
        let spec: InfoSpec = parse_args("postgresql_info", &rest)?;
        if !spec.trust_input {
            pg_login::check_input(&[spec.session_role.as_deref().unwrap_or_default()])?;
        }
        let filter = filter_list(spec.filter.as_ref())?;
        let subsets = selected(&filter);
        let mut session = pg_login::open(
            &login,
            spec.login_db.as_deref(),
            spec.session_role.as_deref(),
        )?;
        let mut info = Map::new();
        for (k, v) in [
            ("version", Json::Object(Map::new())),
            ("in_recovery", Json::Null),
            ("tablespaces", Json::Object(Map::new())),
            ("databases", Json::Object(Map::new())),
            ("replications", Json::Object(Map::new())),
            ("repl_slots", Json::Object(Map::new())),
            ("settings", Json::Object(Map::new())),
            ("roles", Json::Object(Map::new())),
            ("pending_restart_settings", Json::Array(Vec::new())),
        ] {
            info.insert(k.into(), v);
        }
        for s in &subsets {
            let value = match *s {
                "version" => subsets::version(&mut session)?,
                "in_recovery" => subsets::in_recovery(&mut session)?,
                "tablespaces" => subsets::tablespaces(&mut session)?,
                "databases" => {
                    subsets::databases(&mut session, &login, spec.session_role.as_deref())?
                }
                "replications" => subsets::replications(&mut session)?,
                "repl_slots" => subsets::repl_slots(&mut session)?,
                "settings" => {
                    let (settings, pending) = subsets::settings(&mut session)?;
                    info.insert("pending_restart_settings".into(), pending);
                    settings
                }
                _ => subsets::roles(&mut session)?,
            };
            info.insert((*s).into(), value);
        }
        let mut o = Outcome::ok(format!("collected: {}", subsets.join(", ")));
        o.data = info;
        Ok(Plan::done(o))
    }
}

#[cfg(test)]
mod tests;
