//! `postgresql_db` (community.postgresql), states `present` and `absent`: creates a
//! database (`owner`, `template`, `encoding`, `lc_collate`, `lc_ctype`, `conn_limit`),
//! changes the owner and connection limit of one that exists, drops one (`force` ends its
//! sessions), through the agent's native client connected to `maintenance_db`.
//!
//! As the collection's `db_create`/`db_matches`/`db_delete`: names go into the SQL in
//! double quotes as given; an existing database whose encoding, `LC_COLLATE` or `LC_CTYPE`
//! differ from the task's fails (`Changing database encoding is not supported. Current
//! encoding: ...`) — in check mode, where the collection only compares, it is a change; the
//! template is used only when creating; `executed_commands` lists what ran (empty in check
//! mode, where the collection runs nothing). dr's plan message lists what would run.
//! `dump`, `restore` and `rename`, `tablespace`, `comment`, `icu_locale`,
//! `locale_provider` are not supported (refused when the playbook is read).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{self, ClientError, Session, quote};

/// The `postgresql_db` module.
pub struct PostgresqlDb;

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DbSpec {
    #[serde(alias = "db", deserialize_with = "super::args::required_name")]
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default, deserialize_with = "opt_text")]
    owner: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    template: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    encoding: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    lc_collate: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    lc_ctype: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    conn_limit: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    maintenance_db: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
}

const OWN_ARGS: &[&str] = &[
    "name",
    "db",
    "state",
    "owner",
    "template",
    "encoding",
    "lc_collate",
    "lc_ctype",
    "conn_limit",
    "maintenance_db",
    "session_role",
    "trust_input",
    "force",
];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

/// An empty string counts as not given, as the collection's `default=''`.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl Module for PostgresqlDb {
    fn name(&self) -> &'static str {
        "postgresql_db"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_db", args, ctx.environment, ctx.become_user)?;
        let spec: DbSpec = parse_args("postgresql_db", &rest)?;
        let maintenance = given(&spec.maintenance_db).unwrap_or("postgres");
        if !spec.trust_input {
            let values: Vec<&str> = [
                &spec.owner,
                &spec.conn_limit,
                &spec.encoding,
                &spec.template,
                &spec.session_role,
            ]
            .into_iter()
            .filter_map(given)
            .chain([spec.name.as_str()])
            .collect();
            pg_login::check_input(&values)?;
        }
        let mut session = pgclient::connect(&login.conn(Some(maintenance)))
            .map_err(|e| ModuleError::Failed(format!("unable to connect to database: {e}")))?;
        if let Some(role) = &spec.session_role {
            session
                .batch(&format!("SET ROLE \"{role}\""))
                .map_err(|e| ModuleError::Failed(format!("Could not switch role: {e}")))?;
        }
        let commands = plan(&mut session, &spec, ctx.check_mode).map_err(|e| match e {
            Refusal::Sql(e) => ModuleError::Failed(format!("Database query failed: {e}")),
            Refusal::NotSupported(m) => ModuleError::Failed(m),
        })?;
        let mut data = Map::new();
        data.insert("db".into(), Json::from(spec.name.clone()));
        data.insert("executed_commands".into(), Json::Array(Vec::new()));
        if commands.is_empty() {
            let mut o = Outcome::ok(format!("database `{}` is as asked", spec.name));
            o.data = data;
            return Ok(Plan::done(o));
        }
        let o = Outcome {
            changed: true,
            msg: format!("would run: {}", commands.join("; ")),
            data: data.clone(),
            dangerous: spec.state == State::Absent,
            ..Outcome::default()
        };
        Ok(Plan::change(
            o,
            Run {
                session,
                commands,
                data,
            },
        ))
    }
}

/// Why the plan could not be made.
enum Refusal {
    Sql(ClientError),
    NotSupported(String),
}

impl From<ClientError> for Refusal {
    fn from(e: ClientError) -> Self {
        Refusal::Sql(e)
    }
}

/// The statements that bring the database to the task's state (none: it is).
fn plan(session: &mut Session, spec: &DbSpec, check_mode: bool) -> Result<Vec<String>, Refusal> {
    let db = &spec.name;
    let info = session
        .rows(&format!(
            "SELECT rolname AS owner, pg_encoding_to_char(encoding) AS encoding, encoding AS encoding_id, \
             datcollate AS lc_collate, datctype AS lc_ctype, datconnlimit AS conn_limit \
             FROM pg_database JOIN pg_roles ON pg_roles.oid = pg_database.datdba WHERE datname = {}",
            quote(db)
        ))?
        .into_iter()
        .next();
    match (spec.state, info) {
        (State::Absent, None) => Ok(Vec::new()),
        (State::Absent, Some(_)) => {
            if spec.force && session.server_version_num()? < 130000 {
                return Err(Refusal::NotSupported(
                    "`force` needs PostgreSQL 13 or later (`DROP DATABASE ... WITH (FORCE)`)"
                        .into(),
                ));
            }
            let with = if spec.force { " WITH (FORCE)" } else { "" };
            Ok(vec![format!("DROP DATABASE \"{db}\"{with}")])
        }
        (State::Present, None) => {
            let mut q = vec![format!("CREATE DATABASE \"{db}\"")];
            if let Some(o) = given(&spec.owner) {
                q.push(format!("OWNER \"{o}\""));
            }
            if let Some(t) = given(&spec.template) {
                q.push(format!("TEMPLATE \"{t}\""));
            }
            if let Some(e) = given(&spec.encoding) {
                q.push(format!("ENCODING {}", quote(e)));
            }
            if let Some(c) = given(&spec.lc_collate) {
                q.push(format!("LC_COLLATE {}", quote(c)));
            }
            if let Some(c) = given(&spec.lc_ctype) {
                q.push(format!("LC_CTYPE {}", quote(c)));
            }
            if let Some(n) = given(&spec.conn_limit) {
                q.push(format!("CONNECTION LIMIT {n}"));
            }
            Ok(vec![q.join(" ")])
        }
        (State::Present, Some(info)) => {
            let text = |k: &str| {
                info.get(k)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut refusal = None;
            if let Some(e) = given(&spec.encoding) {
                let id =
                    session.scalar(&format!("SELECT pg_char_to_encoding({}) AS id", quote(e)))?;
                if Some(&id) != info.get("encoding_id") {
                    refusal = Some(format!(
                        "Changing database encoding is not supported. Current encoding: {}",
                        text("encoding")
                    ));
                }
            }
            if refusal.is_none()
                && let Some(c) = given(&spec.lc_collate)
                && c != text("lc_collate")
            {
                refusal = Some(format!(
                    "Changing LC_COLLATE is not supported. Current LC_COLLATE: {}",
                    text("lc_collate")
                ));
            }
            if refusal.is_none()
                && let Some(c) = given(&spec.lc_ctype)
                && c != text("lc_ctype")
            {
                refusal = Some(format!(
                    "Changing LC_CTYPE is not supported.Current LC_CTYPE: {}",
                    text("lc_ctype")
                ));
            }
            if let Some(r) = refusal {
                // The collection's check mode only compares: a mismatch is a change there.
                return if check_mode {
                    Ok(vec![format!("(fails when applied: {r})")])
                } else {
                    Err(Refusal::NotSupported(r))
                };
            }
            let mut q = Vec::new();
            if let Some(o) = given(&spec.owner)
                && o != text("owner")
            {
                q.push(format!("ALTER DATABASE \"{db}\" OWNER TO \"{o}\""));
            }
            if let Some(n) = given(&spec.conn_limit)
                && Some(n.to_owned()) != info.get("conn_limit").map(Json::to_string)
            {
                q.push(format!("ALTER DATABASE \"{db}\" CONNECTION LIMIT {n}"));
            }
            Ok(q)
        }
    }
}

/// The planned statements, on the open session (each on its own: `CREATE DATABASE` and
/// `DROP DATABASE` cannot run inside a transaction, the collection's connection autocommits).
struct Run {
    session: Session,
    commands: Vec<String>,
    data: Map<String, Json>,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            mut session,
            commands,
            mut data,
        } = *self;
        let mut ran = Vec::new();
        for c in &commands {
            ran.push(Json::from(c.clone()));
            session
                .batch(c)
                .map_err(|e| ModuleError::Failed(format!("Database query failed: {e}")))?;
        }
        data.insert("executed_commands".into(), Json::Array(ran));
        Ok(Outcome {
            changed: true,
            msg: commands.join("; "),
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;
