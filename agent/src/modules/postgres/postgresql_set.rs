//! `postgresql_set` (community.postgresql): one server parameter through `ALTER SYSTEM`,
//! then `pg_reload_conf()` unless the parameter needs a restart (`postmaster` context).
//!
//! As the collection: `value` is normalised (`32mb` → `32MB`, `True` → `on`) and compared
//! with the current value in bytes where it has a byte unit ([`units`]); `reset: true`
//! restores the boot value (`ALTER SYSTEM RESET`); `value: default` removes the parameter
//! from `postgresql.auto.conf`; an `internal` parameter fails; the result has `name`,
//! `prev_val_pretty`, `value_pretty`, `value` (`{value, unit}`, sizes in bytes), `context`,
//! `restart_required` and `queries`; after a change the value is read again on a new
//! connection and `changed` says whether it differs.
//!
//! Where dr decides more exactly than the collection (so a second apply plans nothing): a
//! `postmaster` parameter is compared with the value `postgresql.auto.conf` already holds
//! for the next restart, and `reset`/`value: default` change something only when
//! `postgresql.auto.conf` names the parameter (`pg_file_settings`).

mod units;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS, Login};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{ClientError, Session, quote};

/// The `postgresql_set` module.
pub struct PostgresqlSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSpec {
    #[serde(deserialize_with = "super::args::required_name")]
    name: String,
    #[serde(default, deserialize_with = "opt_text")]
    value: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    reset: bool,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default, alias = "db", deserialize_with = "opt_text")]
    login_db: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
}

const OWN_ARGS: &[&str] = &[
    "name",
    "value",
    "reset",
    "session_role",
    "login_db",
    "db",
    "trust_input",
];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

/// A parameter's state, as `param_get` reads it.
#[derive(Debug, Clone)]
struct Param {
    /// `SHOW name` (lists unquoted).
    current: String,
    /// `pg_settings.setting` (lists unquoted).
    raw: String,
    unit: Option<String>,
    boot: String,
    context: String,
    /// The value `postgresql.auto.conf` holds for it, if it names it; `None` when
    /// `pg_file_settings` cannot be read (a role that is not a superuser nor in
    /// `pg_read_all_settings`): then the collection's own rules decide.
    auto_conf: Option<Option<String>>,
}

fn sql_err(name: &str) -> impl Fn(ClientError) -> ModuleError + '_ {
    move |e| ModuleError::Failed(format!("Unable to get {name} value due to : {e}"))
}

fn read_param(session: &mut Session, name: &str, list: bool) -> Result<Param, ModuleError> {
    let row = session
        .rows(&format!(
            "SELECT setting, unit, context, boot_val, current_setting(name) AS current \
             FROM pg_settings WHERE name = {}",
            quote(name)
        ))
        .map_err(sql_err(name))?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ModuleError::Failed(format!(
                "No such parameter: {name}. Please check its spelling or presence in your PostgreSQL version (https://www.postgresql.org/docs/current/runtime-config.html)"
            ))
        })?;
    let text = |k: &str| {
        row.get(k)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let auto_conf = session
        .rows(&format!(
            "SELECT setting FROM pg_file_settings WHERE lower(name) = lower({}) \
             AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY seqno DESC LIMIT 1",
            quote(name)
        ))
        .ok()
        .map(|rows| {
            rows.into_iter()
                .next()
                .and_then(|r| r.get("setting").and_then(Json::as_str).map(str::to_owned))
        });
    let unq = |s: String| if list { units::list_unquote(&s) } else { s };
    let current = match text("current").as_str() {
        "True" => "on".to_owned(),
        "False" => "off".to_owned(),
        _ => text("current"),
    };
    Ok(Param {
        current: unq(current),
        raw: unq(text("setting")),
        unit: row.get("unit").and_then(Json::as_str).map(str::to_owned),
        boot: text("boot_val"),
        context: text("context"),
        auto_conf: auto_conf.map(|a| a.map(unq)),
    })
}

impl Module for PostgresqlSet {
    fn name(&self) -> &'static str {
        "postgresql_set"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_set", args, ctx.environment, ctx.become_user)?;
        let spec: SetSpec = parse_args("postgresql_set", &rest)?;
        let name = spec.name.clone();
        if !spec.trust_input {
            let values: Vec<&str> = [Some(&name), spec.value.as_ref(), spec.session_role.as_ref()]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            pg_login::check_input(&values)?;
        }
        let value = spec.value.as_deref().map(units::normalise);
        if name == "shared_preload_libraries" && value.as_deref() == Some("") {
            return Err(ModuleError::Failed("Due to a PostgreSQL bug in resetting shared_preload_libraries with ALTER SYSTEM SET, setting it as an empty string is not supported by the module to avoid crashes. Use the `value: default` or `reset: true` argument instead. If you think the bug has been fixed, please let us know.".into()));
        }
        if value.is_some() && spec.reset {
            return Err(ModuleError::Failed(format!(
                "{name}: value and reset params are mutually exclusive"
            )));
        }
        if value.is_none() && !spec.reset {
            return Err(ModuleError::Failed(format!(
                "{name}: at least one of value or reset param must be specified"
            )));
        }
        let mut session = pg_login::open(
            &login,
            spec.login_db.as_deref(),
            spec.session_role.as_deref(),
        )?;
        let version = session
            .server_version_num()
            .map_err(|e| ModuleError::Failed(format!("Database query failed: {e}")))?;
        let list = units::is_list_quote(version, &name);
        let p = read_param(&mut session, &name, list)?;
        if p.context == "internal" {
            return Err(ModuleError::Failed(format!(
                "{name}: cannot be changed (internal context). See https://www.postgresql.org/docs/current/runtime-config-preset.html"
            )));
        }
        let restart = p.context == "postmaster";
        let (raw, unit) = units::raw_in_bytes(&p.raw, p.unit.as_deref());
        let query = match value.as_deref() {
            Some("default") => p
                .auto_conf
                .as_ref()
                .is_none_or(Option::is_some)
                .then(|| format!("ALTER SYSTEM SET {name} = DEFAULT")),
            Some(v) => {
                // What the server will run with: the pending value of a restart parameter.
                let effective = match (&p.auto_conf, restart) {
                    (Some(Some(pending)), true) => pending.as_str(),
                    _ => p.current.as_str(),
                };
                (!units::same(v, effective)).then(|| {
                    format!(
                        "ALTER SYSTEM SET {name} = {}",
                        units::sql_value(&name, v, version)
                    )
                })
            }
            None => {
                let (boot, _) = units::raw_in_bytes(&p.boot, p.unit.as_deref());
                let named = p.auto_conf.as_ref().is_none_or(Option::is_some);
                (raw != boot && named).then(|| format!("ALTER SYSTEM RESET {name}"))
            }
        };
        let mut data = Map::new();
        data.insert("name".into(), Json::from(name.clone()));
        data.insert("prev_val_pretty".into(), Json::from(p.current.clone()));
        data.insert("context".into(), Json::from(p.context.clone()));
        data.insert("restart_required".into(), Json::Bool(restart));
        let mut value_obj = Map::new();
        value_obj.insert("value".into(), raw);
        value_obj.insert("unit".into(), unit.map_or(Json::Null, Json::from));
        data.insert("value".into(), Json::Object(value_obj));
        data.insert("queries".into(), Json::Array(Vec::new()));
        let Some(query) = query else {
            data.insert("value_pretty".into(), Json::from(p.current.clone()));
            let mut o = Outcome::ok(format!("{name} is {}", p.current));
            o.data = data;
            return Ok(Plan::done(o));
        };
        let pretty = match value.as_deref() {
            Some(v) if v != "default" => v.to_owned(),
            _ => p.current.clone(),
        };
        data.insert("value_pretty".into(), Json::from(pretty));
        let reload = if restart {
            " (a restart of PostgreSQL is required)"
        } else {
            "; SELECT pg_reload_conf()"
        };
        let o = Outcome {
            changed: true,
            msg: format!("would run: {query}{reload}"),
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            o,
            Run {
                session,
                login,
                db: spec.login_db,
                session_role: spec.session_role,
                query,
                param: p,
                list,
                data,
            },
        ))
    }
}

/// The planned `ALTER SYSTEM`, on the open session.
struct Run {
    session: Session,
    login: Login,
    db: Option<String>,
    session_role: Option<String>,
    query: String,
    param: Param,
    list: bool,
    data: Map<String, Json>,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            mut session,
            login,
            db,
            session_role,
            query,
            param,
            list,
            mut data,
        } = *self;
        let name = data
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        session.batch(&query).map_err(|e| {
            let what = if query.ends_with("DEFAULT") {
                "Unable to set default value for"
            } else if query.starts_with("ALTER SYSTEM RESET") {
                "Unable to reset"
            } else {
                "Unable to set"
            };
            let suffix = if what == "Unable to set" {
                " value"
            } else {
                ""
            };
            ModuleError::Failed(format!("{what} {name}{suffix} due to : {e}"))
        })?;
        data.insert(
            "queries".into(),
            Json::Array(vec![Json::from(query.clone())]),
        );
        let restart = param.context == "postmaster";
        let mut changed = true;
        if !restart {
            let loaded = |s: &mut Session| {
                s.scalar("SELECT pg_conf_load_time()::text AS t")
                    .map_err(|e| ModuleError::Failed(format!("Database query failed: {e}")))
            };
            let before = loaded(&mut session)?;
            session
                .batch("SELECT pg_reload_conf()")
                .map_err(|e| ModuleError::Failed(format!("Database query failed: {e}")))?;
            drop(session);
            // A new backend sees the reloaded configuration once the server has read it.
            let mut fresh = pg_login::open(&login, db.as_deref(), session_role.as_deref())?;
            for _ in 0..50 {
                if loaded(&mut fresh)? != before {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                fresh = pg_login::open(&login, db.as_deref(), session_role.as_deref())?;
            }
            let after = read_param(&mut fresh, &name, list)?;
            changed = after.raw != param.raw;
            let (raw, unit) = units::raw_in_bytes(&after.raw, after.unit.as_deref());
            let mut value_obj = Map::new();
            value_obj.insert("value".into(), raw);
            value_obj.insert("unit".into(), unit.map_or(Json::Null, Json::from));
            data.insert("value".into(), Json::Object(value_obj));
            data.insert("value_pretty".into(), Json::from(after.current));
        }
        let msg = if restart {
            format!("{query}; restart of PostgreSQL is required for setting {name}")
        } else {
            query
        };
        Ok(Outcome {
            changed,
            msg,
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;
