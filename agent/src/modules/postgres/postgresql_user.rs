//! `postgresql_user` (community.postgresql): creates, alters and drops a role through the
//! agent's native client, as the collection's `user_add`/`user_alter`/`user_delete` do:
//! `password` (clear text, or an MD5 or SCRAM-SHA-256 verifier stored as given; `""` removes
//! it; compared with the stored one without changing it when it matches), `encrypted`,
//! `role_attr_flags` (`CREATEDB,NOSUPERUSER,...`, checked against the role's attributes),
//! `expires` (`VALID UNTIL`, compared as `timestamptz`), `conn_limit`,
//! `no_password_changes`, `fail_on_user`.
//!
//! The password never leaves the protocol: the returned `queries` (and dr's plan message)
//! show the placeholder `%(password)s` as the collection's do, the statement sent carries
//! the literal inside the connection, and the agent starts no process for it. Check mode
//! reads the role and reports what would run without running it (the collection runs the
//! statements and rolls back). `priv`, `comment`, `configuration` and
//! `reset_unspecified_configuration` are not supported (refused when the playbook is read).

mod password;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use self::password::Stored;
use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{self, ClientError, Session, quote};

/// The `postgresql_user` module.
pub struct PostgresqlUser;

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    #[serde(alias = "user", deserialize_with = "super::args::required_name")]
    name: String,
    #[serde(default, deserialize_with = "opt_text")]
    password: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default, alias = "login_db", deserialize_with = "opt_text")]
    db: Option<String>,
    #[serde(
        default = "super::args::yes",
        alias = "fail_on_role",
        deserialize_with = "bool_ish"
    )]
    fail_on_user: bool,
    #[serde(default, deserialize_with = "opt_text")]
    role_attr_flags: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    encrypted: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    no_password_changes: bool,
    #[serde(default, deserialize_with = "opt_text")]
    expires: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    conn_limit: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
}

/// Ansible's `type='int'`: a number or a string of digits.
fn opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Json::deserialize(d)? {
        Json::Null => Ok(None),
        Json::Number(n) if n.is_i64() => Ok(n.as_i64()),
        Json::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
        v => Err(serde::de::Error::custom(format!(
            "`conn_limit`: {v} cannot be converted to an int"
        ))),
    }
}

const OWN_ARGS: &[&str] = &[
    "name",
    "user",
    "password",
    "state",
    "db",
    "login_db",
    "fail_on_user",
    "fail_on_role",
    "role_attr_flags",
    "encrypted",
    "no_password_changes",
    "expires",
    "conn_limit",
    "session_role",
    "trust_input",
];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

/// Role attributes and their `pg_roles` columns (`PRIV_TO_AUTHID_COLUMN`).
const FLAGS: &[(&str, &str)] = &[
    ("SUPERUSER", "rolsuper"),
    ("CREATEROLE", "rolcreaterole"),
    ("CREATEDB", "rolcreatedb"),
    ("INHERIT", "rolinherit"),
    ("LOGIN", "rolcanlogin"),
    ("REPLICATION", "rolreplication"),
    ("BYPASSRLS", "rolbypassrls"),
];

impl Module for PostgresqlUser {
    fn name(&self) -> &'static str {
        "postgresql_user"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_user", args, ctx.environment, ctx.become_user)?;
        let spec: UserSpec = parse_args("postgresql_user", &rest)?;
        if !spec.trust_input {
            let values: Vec<&str> = [
                Some(spec.name.as_str()),
                spec.password.as_deref(),
                spec.expires.as_deref(),
                spec.role_attr_flags.as_deref(),
                spec.session_role.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            pg_login::check_input(&values)?;
        }
        let mut session = pgclient::connect(&login.conn(spec.db.as_deref()))
            .map_err(|e| ModuleError::Failed(format!("unable to connect to database: {e}")))?;
        if let Some(role) = &spec.session_role {
            session
                .batch(&format!("SET ROLE \"{role}\""))
                .map_err(|e| ModuleError::Failed(format!("Could not switch role: {e}")))?;
        }
        let flags = parse_flags(spec.role_attr_flags.as_deref().unwrap_or_default())?;
        let step = plan(&mut session, &spec, &flags)
            .map_err(|e| ModuleError::Failed(format!("Database query failed: {e}")))?;
        let mut data = Map::new();
        data.insert("user".into(), Json::from(spec.name.clone()));
        let Some(step) = step else {
            data.insert("queries".into(), Json::Array(Vec::new()));
            let mut o = Outcome::ok(format!("role `{}` is as asked", spec.name));
            o.data = data;
            return Ok(Plan::done(o));
        };
        let shown = step.shown.clone();
        data.insert("queries".into(), Json::from(vec![shown.clone()]));
        if spec.state == State::Absent {
            data.insert("user_removed".into(), Json::Bool(true));
        }
        let o = Outcome {
            changed: true,
            msg: format!("would run: {shown}"),
            data: data.clone(),
            dangerous: spec.state == State::Absent,
            ..Outcome::default()
        };
        Ok(Plan::change(
            o,
            Run {
                session,
                step,
                data,
                absent: spec.state == State::Absent,
                fail_on_user: spec.fail_on_user,
            },
        ))
    }
}

/// `parse_role_attrs`: upper-cased, comma-separated, each a known attribute or `NO` one.
fn parse_flags(s: &str) -> Result<Vec<String>, ModuleError> {
    let mut flags: Vec<String> = Vec::new();
    for f in s.split(',').filter(|f| !f.is_empty()) {
        let f = f.to_uppercase();
        if !flags.contains(&f) {
            flags.push(f);
        }
    }
    let bad: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .filter(|f| {
            let bare = f.strip_prefix("NO").unwrap_or(f);
            !FLAGS.iter().any(|(n, _)| *n == bare || *n == *f)
        })
        .collect();
    if bad.is_empty() {
        Ok(flags)
    } else {
        Err(ModuleError::Failed(format!(
            "Invalid role_attr_flags specified: {}",
            bad.join(" ")
        )))
    }
}

/// One statement: as shown (the password as `%(password)s`) and as sent.
struct Step {
    shown: String,
    sent: String,
}

/// The collection's statement text: its parts joined with single spaces, empty parts
/// included (`' '.join(...)`), placeholders as shown; the sent text with the literals.
fn step(parts: &[String], password: Option<&str>, expires: Option<&str>) -> Step {
    let shown = parts.join(" ");
    let mut sent = shown.clone();
    if let Some(p) = password {
        sent = sent.replace("%(password)s", &quote(p));
    }
    if let Some(e) = expires {
        sent = sent.replace("%(expires)s", &quote(e));
    }
    Step { shown, sent }
}

fn plan(
    session: &mut Session,
    spec: &UserSpec,
    flags: &[String],
) -> Result<Option<Step>, ClientError> {
    let user = &spec.name;
    let crypt = if spec.encrypted {
        "ENCRYPTED"
    } else {
        "UNENCRYPTED"
    };
    let role = session
        .rows(&format!(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolcanlogin, rolreplication, \
             rolbypassrls, rolconnlimit FROM pg_roles WHERE rolname = {}",
            quote(user)
        ))?
        .into_iter()
        .next();
    let flag_text = flags.join(" ");
    let password = spec.password.as_deref();
    let expires = spec.expires.as_deref();
    match (spec.state, role) {
        (State::Absent, None) => Ok(None),
        (State::Absent, Some(_)) => Ok(Some(step(&[format!("DROP USER \"{user}\"")], None, None))),
        (State::Present, None) => {
            let mut q = vec![format!("CREATE USER \"{user}\"")];
            if password.is_some_and(|p| !p.is_empty()) {
                q.push(format!("WITH {crypt}"));
                q.push("PASSWORD %(password)s".into());
            }
            if expires.is_some() {
                q.push("VALID UNTIL %(expires)s".into());
            }
            if let Some(n) = spec.conn_limit {
                q.push(format!("CONNECTION LIMIT {n}"));
            }
            q.push(flag_text);
            Ok(Some(step(&q, password, expires)))
        }
        (State::Present, Some(role)) => {
            let flags_changing = flags.iter().any(|f| {
                let (name, want) = match f.strip_prefix("NO") {
                    Some(bare) if FLAGS.iter().any(|(n, _)| *n == bare) => (bare, false),
                    _ => (f.as_str(), true),
                };
                let column = FLAGS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
                column.and_then(|c| role.get(c)) != Some(&Json::Bool(want))
            });
            if spec.no_password_changes {
                if flag_text.is_empty() || !flags_changing {
                    return Ok(None);
                }
                let q = [
                    format!("ALTER USER \"{user}\""),
                    format!("WITH {flag_text}"),
                ];
                return Ok(Some(step(&q, None, None)));
            }
            if password.is_none()
                && flag_text.is_empty()
                && expires.is_none()
                && spec.conn_limit.is_none()
            {
                return Ok(None);
            }
            let pw_changing = match password {
                None => false,
                Some(p) => {
                    let stored = session.rows(&format!(
                        "SELECT rolpassword FROM pg_authid WHERE rolname = {}",
                        quote(user)
                    ));
                    match stored {
                        Ok(rows) => {
                            let current = rows
                                .first()
                                .and_then(|r| r.get("rolpassword"))
                                .and_then(Json::as_str)
                                .map(str::to_owned);
                            password::changing(
                                Stored::Known(current.as_deref()),
                                user,
                                p,
                                spec.encrypted,
                            )
                        }
                        // No access to pg_authid (a managed service): a change, as the collection.
                        Err(e) if e.code() == Some("42501") => {
                            password::changing(Stored::Unknown, user, p, spec.encrypted)
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            let expires_changing = match expires {
                None => false,
                Some(e) => {
                    let v = session.scalar(&format!(
                        "SELECT {}::timestamptz IS DISTINCT FROM rolvaliduntil AS changing FROM pg_roles WHERE rolname = {}",
                        quote(e),
                        quote(user)
                    ))?;
                    v == Json::Bool(true)
                }
            };
            let conn_limit_changing = spec
                .conn_limit
                .is_some_and(|n| role.get("rolconnlimit") != Some(&Json::from(n)));
            if !pw_changing && !flags_changing && !expires_changing && !conn_limit_changing {
                return Ok(None);
            }
            let mut q = vec![format!("ALTER USER \"{user}\"")];
            if pw_changing {
                if password != Some("") {
                    q.push(format!("WITH {crypt}"));
                    q.push("PASSWORD %(password)s".into());
                } else {
                    q.push("WITH PASSWORD NULL".into());
                }
                q.push(flag_text);
            } else if !flag_text.is_empty() {
                q.push(format!("WITH {flag_text}"));
            }
            if expires.is_some() {
                q.push("VALID UNTIL %(expires)s".into());
            }
            if let Some(n) = spec.conn_limit {
                q.push(format!("CONNECTION LIMIT {n}"));
            }
            Ok(Some(step(&q, password, expires)))
        }
    }
}

/// The planned statement, on the open session.
struct Run {
    session: Session,
    step: Step,
    data: Map<String, Json>,
    absent: bool,
    fail_on_user: bool,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            mut session,
            step,
            mut data,
            absent,
            fail_on_user,
        } = *self;
        match session.batch(&step.sent) {
            Ok(()) => Ok(Outcome {
                changed: true,
                msg: step.shown,
                data,
                ..Outcome::default()
            }),
            // `user_delete`: a role that still owns objects is not removed.
            Err(_) if absent && !fail_on_user => {
                data.insert("user_removed".into(), Json::Bool(false));
                data.insert("queries".into(), Json::Array(Vec::new()));
                Ok(Outcome {
                    msg: "Unable to remove user".into(),
                    data,
                    ..Outcome::default()
                })
            }
            Err(_) if absent => Err(ModuleError::Failed("Unable to remove user".into())),
            Err(e) => Err(ModuleError::Failed(format!("Database query failed: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests;
