//! `postgresql_privs` (community.postgresql): grants and revokes privileges on tables,
//! sequences, functions, schemas and databases, default privileges, and group membership.
//!
//! As the collection: the statement is written as its `QueryBuilder` writes it ([`query`]);
//! `objs: ALL_IN_SCHEMA` names every table, sequence or function of `schema` (which defaults
//! to `public`, `not-specified` for none); a role that does not exist fails, or with
//! `fail_on_role: false` is left out; `PUBLIC`, `CURRENT_USER`, `SESSION_USER` and
//! `CURRENT_ROLE` are the implicit roles. Whether anything changes is decided as the
//! collection decides it: the statement runs inside a transaction, the objects' ACLs are
//! read before and after, and they differ or not; check mode (dr's plan) and an unchanged
//! result roll the transaction back, so a plan changes nothing. `queries` lists the
//! statement. The plan's message says, per role, which privileges appear or go ([`acl`]).
//!
//! The types `procedure`, `language`, `tablespace`, `type`, `foreign_data_wrapper`,
//! `foreign_server` and `parameter` are not supported (refused when the playbook is read).

mod acl;
mod query;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{ClientError, Session, quote};

/// The `postgresql_privs` module.
pub struct PostgresqlPrivs;

/// The object types dr runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjType {
    Table,
    Sequence,
    Function,
    Schema,
    Database,
    DefaultPrivs,
    Group,
}

/// The collection's other types, refused.
const NOT_RUN: &[&str] = &[
    "procedure",
    "language",
    "tablespace",
    "type",
    "foreign_data_wrapper",
    "foreign_server",
    "parameter",
];

impl ObjType {
    fn parse(s: &str) -> Result<ObjType, String> {
        Ok(match s {
            "table" => ObjType::Table,
            "sequence" => ObjType::Sequence,
            "function" => ObjType::Function,
            "schema" => ObjType::Schema,
            "database" => ObjType::Database,
            "default_privs" => ObjType::DefaultPrivs,
            "group" => ObjType::Group,
            other if NOT_RUN.contains(&other) => return Err(not_run(other)),
            other => {
                return Err(format!(
                    "value of type must be one of: database, default_privs, foreign_data_wrapper, foreign_server, function, group, language, table, tablespace, schema, sequence, type, procedure, parameter, got: {other}"
                ));
            }
        })
    }

    /// The word in `GRANT ... ON <word>`.
    fn sql_word(self) -> &'static str {
        match self {
            ObjType::Table => "table",
            ObjType::Sequence => "sequence",
            ObjType::Function => "function",
            ObjType::Schema => "schema",
            ObjType::Database => "database",
            ObjType::DefaultPrivs => "default_privs",
            ObjType::Group => "group",
        }
    }

    fn name(self) -> &'static str {
        self.sql_word()
    }
}

fn not_run(t: &str) -> String {
    format!(
        "`type: {t}` is not supported by dr's postgresql_privs (it runs table, sequence, function, schema, database, default_privs and group)"
    )
}

/// Refuses, when the playbook is read, a `type` this build does not run.
pub(crate) fn refused_value(args: &Json) -> Option<(&'static str, String)> {
    let t = args.get("type")?.as_str()?;
    NOT_RUN.contains(&t).then(|| ("type", not_run(t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivsSpec {
    #[serde(
        default,
        alias = "db",
        alias = "database",
        deserialize_with = "opt_text"
    )]
    login_db: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    state: Option<String>,
    #[serde(default, alias = "priv", deserialize_with = "opt_text")]
    privs: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "opt_text")]
    obj_type: Option<String>,
    #[serde(default, alias = "obj", deserialize_with = "opt_text")]
    objs: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    schema: Option<String>,
    #[serde(default, alias = "role", deserialize_with = "opt_text")]
    roles: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    target_roles: Option<String>,
    #[serde(default, alias = "admin_option", deserialize_with = "opt_bool_ish")]
    grant_option: Option<bool>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    fail_on_role: bool,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
}

const OWN_ARGS: &[&str] = &[
    "login_db",
    "db",
    "database",
    "state",
    "privs",
    "priv",
    "type",
    "objs",
    "obj",
    "schema",
    "roles",
    "role",
    "session_role",
    "target_roles",
    "grant_option",
    "admin_option",
    "fail_on_role",
    "trust_input",
];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

const VALID_PRIVS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "TEMP",
    "EXECUTE",
    "USAGE",
    "ALL",
    "SET",
    "ALTER_SYSTEM",
    "MAINTAIN",
];

/// `default_privs` objects and the privileges each takes.
const DEFAULT_OBJS: &[(&str, &[&str])] = &[
    (
        "TABLES",
        &[
            "ALL",
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
            "MAINTAIN",
        ],
    ),
    ("SEQUENCES", &["ALL", "SELECT", "UPDATE", "USAGE"]),
    ("FUNCTIONS", &["ALL", "EXECUTE"]),
    ("TYPES", &["ALL", "USAGE"]),
    ("SCHEMAS", &["CREATE", "USAGE"]),
];

/// A Python `frozenset` as the collection's messages print one.
fn pyset(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("frozenset({{{}}})", inner.join(", "))
}

fn fail(m: impl Into<String>) -> ModuleError {
    ModuleError::Failed(m.into())
}

fn csv(s: &str) -> Vec<String> {
    s.split(',').map(str::to_owned).collect()
}

/// The task's request, checked as the collection's `main` checks it.
struct Checked {
    obj_type: ObjType,
    present: bool,
    schema: Option<String>,
    privs: Vec<String>,
    objs: Option<String>,
}

fn validate(spec: &PrivsSpec, login_db: &str) -> Result<Checked, ModuleError> {
    let obj_type = ObjType::parse(spec.obj_type.as_deref().unwrap_or("table")).map_err(fail)?;
    let present = match spec.state.as_deref().unwrap_or("present") {
        "present" => true,
        "absent" => false,
        s => {
            return Err(fail(format!(
                "value of state must be one of: present, absent, got: {s}"
            )));
        }
    };
    let objs = spec.objs.clone().filter(|o| !o.is_empty());
    let schema = match obj_type {
        ObjType::Table | ObjType::Sequence | ObjType::Function | ObjType::DefaultPrivs => {
            if objs.as_deref() == Some("schemas") || spec.schema.as_deref() == Some("not-specified")
            {
                None
            } else {
                Some(
                    spec.schema
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "public".into()),
                )
            }
        }
        t => {
            if spec.schema.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(fail(format!(
                    "Argument \"schema\" is not allowed for type \"{}\".",
                    t.name()
                )));
            }
            None
        }
    };
    if objs.as_deref() == Some("ALL_IN_SCHEMA")
        && !matches!(
            obj_type,
            ObjType::Table | ObjType::Sequence | ObjType::Function
        )
    {
        return Err(fail(format!(
            "Argument \"objs\": ALL_IN_SCHEMA can be used only for type: table, sequence, function or procedure, {} was passed.",
            obj_type.name()
        )));
    }
    let objs = match (obj_type, objs) {
        (ObjType::Database, o) => Some(o.unwrap_or_else(|| login_db.to_owned())),
        (_, None) => {
            return Err(fail(format!(
                "Argument \"objs\" is required for type \"{}\".",
                obj_type.name()
            )));
        }
        (_, o) => o,
    };
    let privs_text = spec.privs.clone().filter(|p| !p.is_empty());
    if obj_type == ObjType::Group {
        if privs_text.is_some() {
            return Err(fail(
                "Argument \"privs\" is not allowed for type \"group\".",
            ));
        }
    } else if privs_text.is_none() {
        return Err(fail(format!(
            "Argument \"privs\" is required for type \"{}\".",
            obj_type.name()
        )));
    }
    let mut privs: Vec<String> = privs_text
        .as_deref()
        .map(|p| p.split(',').map(str::to_uppercase).collect())
        .unwrap_or_default();
    privs.sort();
    privs.dedup();
    let bad: Vec<String> = privs
        .iter()
        .filter(|p| !VALID_PRIVS.contains(&p.as_str()))
        .cloned()
        .collect();
    if !bad.is_empty() {
        return Err(fail(format!(
            "Invalid privileges specified: {}",
            pyset(&bad)
        )));
    }
    Ok(Checked {
        obj_type,
        present,
        schema,
        privs,
        objs,
    })
}

impl Module for PostgresqlPrivs {
    fn name(&self) -> &'static str {
        "postgresql_privs"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn refused_value(&self, args: &Json) -> Option<(&'static str, String)> {
        refused_value(args)
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_privs", args, ctx.environment, ctx.become_user)?;
        let spec: PrivsSpec = parse_args("postgresql_privs", &rest)?;
        let login_db = spec
            .login_db
            .clone()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| fail("missing required arguments: login_db"))?;
        let roles_text = spec
            .roles
            .clone()
            .ok_or_else(|| fail("missing required arguments: roles"))?;
        let c = validate(&spec, &login_db)?;
        if !spec.trust_input {
            let values: Vec<&str> = [
                spec.roles.as_deref(),
                spec.target_roles.as_deref(),
                spec.session_role.as_deref(),
                c.schema.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            pg_login::check_input(&values)?;
        }
        let mut session = pgclient_open(&login, &login_db, spec.session_role.as_deref())?;
        let version = session
            .server_version_num()
            .map_err(|e| fail(format!("Database query failed: {e}")))?;
        let objs_text = c.objs.clone().unwrap_or_default();
        let mut all_in_schema = None;
        let objs: Vec<String> = if objs_text == "ALL_IN_SCHEMA" {
            if let Some(s) = &c.schema {
                let n = session
                    .scalar(&format!(
                        "SELECT count(*) AS c FROM pg_catalog.pg_namespace WHERE nspname = {}",
                        quote(s)
                    ))
                    .map_err(|e| fail(e.to_string()))?;
                if n.as_i64() == Some(0) {
                    return Err(fail(format!("Schema \"{s}\" does not exist.")));
                }
            }
            all_in_schema = Some(match c.obj_type {
                ObjType::Sequence => "ALL SEQUENCES IN SCHEMA",
                ObjType::Function => "ALL FUNCTIONS IN SCHEMA",
                _ => "ALL TABLES IN SCHEMA",
            });
            session
                .rows(&query::all_in_schema(
                    c.obj_type,
                    c.schema.as_deref(),
                    version,
                ))
                .map_err(|e| fail(e.to_string()))?
                .into_iter()
                .filter_map(|r| r.get("obj").and_then(Json::as_str).map(str::to_owned))
                .collect()
        } else if c.obj_type == ObjType::DefaultPrivs {
            let mut objs: Vec<String> = if objs_text == "ALL_DEFAULT" {
                ["TABLES", "SEQUENCES", "FUNCTIONS", "TYPES"]
                    .map(str::to_owned)
                    .to_vec()
            } else {
                objs_text.split(',').map(str::to_uppercase).collect()
            };
            objs.sort();
            objs.dedup();
            let bad: Vec<String> = objs
                .iter()
                .filter(|o| !DEFAULT_OBJS.iter().any(|(n, _)| n == o))
                .cloned()
                .collect();
            if !bad.is_empty() {
                return Err(fail(format!(
                    "Invalid Object set specified: {}",
                    pyset(&bad)
                )));
            }
            let valid: Vec<String> = objs
                .iter()
                .filter(|o| {
                    DEFAULT_OBJS
                        .iter()
                        .any(|(n, ok)| n == o && c.privs.iter().all(|p| ok.contains(&p.as_str())))
                })
                .cloned()
                .collect();
            if valid != objs {
                return Err(fail(format!(
                    "Invalid priv specified. Valid object for priv: {}. Objects: {}",
                    pyset(&valid),
                    pyset(&objs)
                )));
            }
            objs
        } else if c.obj_type == ObjType::Function {
            objs_text.split(',').map(|o| o.replace(':', ",")).collect()
        } else {
            csv(&objs_text)
        };
        // Roles: implicit ones in capitals, others quoted; a missing one fails or is left out.
        let implicit: Vec<&str> = [
            ("PUBLIC", 0),
            ("CURRENT_USER", 90500),
            ("SESSION_USER", 90500),
            ("CURRENT_ROLE", 140000),
        ]
        .into_iter()
        .filter(|(_, v)| version >= *v)
        .map(|(r, _)| r)
        .collect();
        let mut roles = Vec::new();
        let mut warnings = Vec::new();
        for r in csv(&roles_text) {
            if implicit.contains(&r.to_uppercase().as_str()) {
                roles.push(r.to_uppercase());
                continue;
            }
            let exists = !session
                .rows(&format!(
                    "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = {}",
                    quote(&r)
                ))
                .map_err(|e| fail(e.to_string()))?
                .is_empty();
            if exists {
                roles.push(query::ident(&r));
            } else if spec.fail_on_role {
                return Err(fail(format!("Role '{r}' does not exist")));
            } else {
                warnings.push(format!("Role '{r}' does not exist, pass it"));
            }
        }
        let mut data = Map::new();
        data.insert("queries".into(), Json::Array(Vec::new()));
        if roles.is_empty() {
            warnings.push("No valid roles provided, nothing to do".into());
        }
        if roles.is_empty() || objs.is_empty() {
            let mut o = Outcome::ok(if warnings.is_empty() {
                "no objects: nothing to do".to_owned()
            } else {
                warnings.join("; ")
            });
            o.data = data;
            return Ok(Plan::done(o));
        }
        if spec.target_roles.is_some() && c.obj_type != ObjType::DefaultPrivs {
            warnings.push("\"target_roles\" will be ignored Argument \"type: default_privs\" is required for usage of \"target_roles\".".into());
        }
        let target_roles = spec
            .target_roles
            .as_deref()
            .filter(|_| c.obj_type == ObjType::DefaultPrivs)
            .map(csv);
        let sql = query::build(&query::Request {
            obj_type: c.obj_type,
            present: c.present,
            privs: &c.privs,
            objs: &objs,
            all_in_schema,
            roles: &roles,
            target_roles: target_roles.as_deref(),
            grant_option: c.grant_option_if_present(spec.grant_option),
            schema: c.schema.as_deref(),
        });
        let status = query::status(c.obj_type, c.schema.as_deref(), &objs);
        data.insert("queries".into(), Json::Array(vec![Json::from(sql.clone())]));
        // As the collection: run it, compare, roll back (a plan never commits).
        let trial = attempt(&mut session, &sql, &status, false)?;
        if !trial.changed {
            let mut o = Outcome::ok(
                std::iter::once("the privileges are as asked".to_owned())
                    .chain(warnings)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            o.data = data;
            return Ok(Plan::done(o));
        }
        let mut msg = format!("would run: {}", sql.replace('\n', " "));
        if !trial.said.is_empty() {
            msg.push_str(&format!(" ({})", trial.said.join("; ")));
        }
        let o = Outcome {
            changed: true,
            msg,
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            o,
            Run {
                session,
                sql,
                status,
                data,
            },
        ))
    }
}

impl Checked {
    /// `grant_option` counts only with `state: present`.
    fn grant_option_if_present(&self, g: Option<bool>) -> Option<bool> {
        if self.present { g } else { None }
    }
}

fn pgclient_open(
    login: &pg_login::Login,
    db: &str,
    session_role: Option<&str>,
) -> Result<Session, ModuleError> {
    pg_login::open(login, Some(db), session_role).map_err(|e| match e {
        ModuleError::Failed(m) if m.starts_with("Could not switch role") => fail(m.replacen(
            "Could not switch role",
            &format!(
                "Could not switch to role {}",
                session_role.unwrap_or_default()
            ),
            1,
        )),
        e => e,
    })
}

/// What one run inside a transaction found.
struct Trial {
    changed: bool,
    /// The ACL difference in words (none for group membership).
    said: Vec<String>,
}

fn sorted_status(session: &mut Session, status: &str) -> Result<Vec<Option<String>>, ClientError> {
    let mut v: Vec<Option<String>> = session
        .rows(status)?
        .into_iter()
        .map(|r| r.get("acl").and_then(Json::as_str).map(str::to_owned))
        .collect();
    v.sort_by(|a, b| a.as_deref().unwrap_or("").cmp(b.as_deref().unwrap_or("")));
    Ok(v)
}

/// Runs `sql` in a transaction between two reads of `status`; commits when `commit` and
/// something changed, else rolls back.
fn attempt(
    session: &mut Session,
    sql: &str,
    status: &str,
    commit: bool,
) -> Result<Trial, ModuleError> {
    let sql_fail = |q: &str, e: ClientError| fail(format!("Cannot execute SQL '{q}': {e}"));
    session.batch("BEGIN").map_err(|e| sql_fail("BEGIN", e))?;
    let run = (|| {
        let before = sorted_status(session, status).map_err(|e| sql_fail(status, e))?;
        session.batch(sql).map_err(|e| sql_fail(sql, e))?;
        let after = sorted_status(session, status).map_err(|e| sql_fail(status, e))?;
        Ok::<_, ModuleError>((before, after))
    })();
    let (before, after) = match run {
        Ok(r) => r,
        Err(e) => {
            let _ = session.batch("ROLLBACK");
            return Err(e);
        }
    };
    let changed = before != after;
    let end = if commit && changed {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    session.batch(end).map_err(|e| sql_fail(end, e))?;
    let parsed = |v: &[Option<String>]| -> Vec<acl::AclItem> {
        v.iter()
            .flat_map(|a| acl::parse(a.as_deref()).unwrap_or_default())
            .collect()
    };
    let said = if status.contains("pg_auth_members") {
        Vec::new()
    } else {
        acl::diff(&parsed(&before), &parsed(&after))
    };
    Ok(Trial { changed, said })
}

/// The planned statement, on the open session.
struct Run {
    session: Session,
    sql: String,
    status: String,
    data: Map<String, Json>,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            mut session,
            sql,
            status,
            data,
        } = *self;
        let t = attempt(&mut session, &sql, &status, true)?;
        let mut msg = sql.replace('\n', " ");
        if !t.said.is_empty() {
            msg.push_str(&format!(" ({})", t.said.join("; ")));
        }
        Ok(Outcome {
            changed: t.changed,
            msg,
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;
