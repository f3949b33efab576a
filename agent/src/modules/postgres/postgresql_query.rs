//! `postgresql_query` (community.postgresql): runs SQL through the agent's native client
//! and returns the collection's values: `query` (the text sent, arguments merged in as
//! psycopg2 merges them), `query_list`, `query_result` (the last statement's rows; `{}`
//! when it returns none), `query_all_results`, `rowcount`, `statusmessage`.
//!
//! As the collection's `main()`: the whole `query` runs in one transaction committed at the
//! end (`autocommit: true` runs each statement on its own, for `VACUUM` and the like), a
//! failure rolls it back and fails with `Cannot execute SQL '<query>' <args>: <error>`;
//! `changed` follows the last statement's tag: no change for `SELECT ...`, a change for
//! `INSERT`/`UPDATE`/`DELETE` only when rows were touched, a change for anything else
//! (DDL, `SHOW`, `SET`...). `as_single_query` only matters with `path_to_script`, which dr
//! refuses, so it is accepted and has no effect, as in the collection.
//!
//! Check mode: the collection runs the SQL and rolls back, but a rollback does not undo
//! everything (`nextval()`, `COPY ... TO PROGRAM`, `pg_terminate_backend()`, `dblink`), and
//! `dr plan` has no side effects. So in check mode dr connects (a bad login or an unreachable
//! server fails as it would) and reports "would run" with the query, sending no SQL; give
//! the task `check_mode: false` to run it during a plan. `autocommit` in check mode fails as
//! in the collection.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{self, Arg, ClientError, Session};
use crate::template::pyrepr::repr_json;

/// The `postgresql_query` module.
pub struct PostgresqlQuery;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySpec {
    #[serde(default, deserialize_with = "opt_text")]
    query: Option<String>,
    #[serde(default, alias = "login_db", deserialize_with = "opt_text")]
    db: Option<String>,
    positional_args: Option<Vec<Json>>,
    named_args: Option<Map<String, Json>>,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    autocommit: bool,
    #[serde(default, deserialize_with = "opt_text")]
    encoding: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
    search_path: Option<Vec<String>>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    #[allow(dead_code)]
    as_single_query: bool,
}

const OWN_ARGS: &[&str] = &[
    "query",
    "db",
    "login_db",
    "positional_args",
    "named_args",
    "session_role",
    "autocommit",
    "encoding",
    "trust_input",
    "search_path",
    "as_single_query",
];

/// Every argument name: the module's and the common connection options.
static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

impl Module for PostgresqlQuery {
    fn name(&self) -> &'static str {
        "postgresql_query"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_query", args, ctx.environment, ctx.become_user)?;
        let spec: QuerySpec = parse_args("postgresql_query", &rest)?;
        if spec.positional_args.is_some() && spec.named_args.is_some() {
            return Err(ModuleError::Failed(
                "parameters are mutually exclusive: positional_args|named_args".into(),
            ));
        }
        if !spec.trust_input {
            pg_login::check_input(&[spec.session_role.as_deref().unwrap_or_default()])?;
        }
        if spec.autocommit && ctx.check_mode {
            return Err(ModuleError::Failed(
                "Using autocommit is mutually exclusive with check_mode".into(),
            ));
        }
        if let Some(enc) = &spec.encoding
            && !matches!(
                enc.to_ascii_uppercase().replace(['-', '_'], "").as_str(),
                "UTF8" | "UNICODE"
            )
        {
            return Err(ModuleError::Failed(format!(
                "`encoding: {enc}` is not supported: dr's PostgreSQL client speaks UTF-8 only (the server converts to and from the database's encoding)"
            )));
        }
        let Some(query) = spec.query.clone() else {
            return Err(ModuleError::Failed(
                "`query` is required (`path_to_script` is not supported: use `query: \"{{ lookup('file', ...) }}\"`)".into(),
            ));
        };
        let args = match (&spec.positional_args, &spec.named_args) {
            (Some(p), _) if !p.is_empty() => Some(Arg::Positional(p)),
            (_, Some(n)) if !n.is_empty() => Some(Arg::Named(n)),
            _ => None,
        };
        let args_repr = match &args {
            None => "None".to_owned(),
            Some(Arg::Positional(p)) => repr_json(&Json::Array(p.to_vec())),
            Some(Arg::Named(n)) => repr_json(&Json::Object((*n).clone())),
        };
        let sent = match &args {
            None => query.clone(),
            Some(a) => pgclient::interpolate(&query, a).map_err(|e| {
                ModuleError::Failed(format!("Cannot execute SQL '{query}' {args_repr}: {e}"))
            })?,
        };
        let conn = login.conn(spec.db.as_deref());
        let session = pgclient::connect(&conn)
            .map_err(|e| ModuleError::Failed(format!("unable to connect to database: {e}")))?;
        let run = Run {
            session,
            query,
            sent,
            args_repr,
            autocommit: spec.autocommit,
            session_role: spec.session_role,
            search_path: spec.search_path,
        };
        if ctx.check_mode {
            let mut o = Outcome {
                changed: true,
                unpredictable: true,
                msg: format!("would run: {}", run.sent),
                ..Outcome::default()
            };
            o.data.insert("query".into(), Json::from(run.sent.clone()));
            o.data
                .insert("query_list".into(), Json::from(vec![run.query.clone()]));
            return Ok(Plan::done(o));
        }
        let outcome = Outcome {
            changed: true,
            msg: format!("will run: {}", run.sent),
            ..Outcome::default()
        };
        Ok(Plan::change(outcome, run))
    }
}

/// The query, ready to run on an open session.
struct Run {
    session: Session,
    /// The task's `query`.
    query: String,
    /// What is sent: `query` with the arguments merged in.
    sent: String,
    /// The arguments as Python shows them, for the failure message.
    args_repr: String,
    autocommit: bool,
    session_role: Option<String>,
    search_path: Option<Vec<String>>,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let mut run = *self;
        if let Some(role) = &run.session_role {
            run.session
                .batch(&format!("SET ROLE \"{role}\""))
                .map_err(|e| ModuleError::Failed(format!("Could not switch role: {e}")))?;
        }
        if !run.autocommit {
            run.session.batch("BEGIN").map_err(failed_sql(&run))?;
        }
        match execute(&mut run) {
            Ok(o) => {
                if !run.autocommit {
                    run.session.batch("COMMIT").map_err(failed_sql(&run))?;
                }
                Ok(o)
            }
            Err(e) => {
                if !run.autocommit {
                    let _ = run.session.batch("ROLLBACK");
                }
                Err(failed_sql(&run)(e))
            }
        }
    }
}

/// `Cannot execute SQL '<query>' <args>: <error>, query list: [...]`, as the collection.
fn failed_sql(run: &Run) -> impl Fn(ClientError) -> ModuleError + '_ {
    move |e| {
        ModuleError::Failed(format!(
            "Cannot execute SQL '{}' {}: {e}, query list: {}",
            run.query,
            run.args_repr,
            repr_json(&Json::from(vec![run.query.clone()]))
        ))
    }
}

fn execute(run: &mut Run) -> Result<Outcome, ClientError> {
    if let Some(path) = &run.search_path {
        let names: Vec<&str> = path.iter().map(|s| s.trim_matches(' ')).collect();
        run.session
            .batch(&format!("SET search_path TO {}", names.join(",")))?;
    }
    let statements = pgclient::split_statements(&run.sent);
    let Some((last, before)) = statements.split_last() else {
        return Err(ClientError::Args("can't execute an empty query".into()));
    };
    for stmt in before {
        run.session.batch(stmt)?;
    }
    let result = run.session.statement(last)?;
    let query_result = if result.returns_rows {
        Json::Array(result.rows.into_iter().map(Json::Object).collect())
    } else {
        Json::Object(Map::new())
    };
    let mut o = Outcome {
        changed: changed(&result.status),
        msg: result.status.clone(),
        ..Outcome::default()
    };
    let d = &mut o.data;
    d.insert("query".into(), Json::from(run.sent.clone()));
    d.insert("query_list".into(), Json::from(vec![run.query.clone()]));
    d.insert("statusmessage".into(), Json::from(result.status));
    d.insert("query_result".into(), query_result.clone());
    d.insert("query_all_results".into(), Json::Array(vec![query_result]));
    d.insert("rowcount".into(), Json::from(result.rowcount));
    Ok(o)
}

/// The collection's rule: a `SELECT` tag changes nothing; `INSERT`/`UPDATE`/`DELETE` change
/// when their count is not 0; any other tag is a change.
fn changed(status: &str) -> bool {
    if status.contains("SELECT") {
        return false;
    }
    if ["UPDATE", "INSERT", "DELETE"]
        .iter()
        .any(|v| status.contains(v))
    {
        let words: Vec<&str> = status.split_whitespace().collect();
        return match words.len() {
            3 => words[2] != "0",
            2 => words[1] != "0",
            _ => true,
        };
    }
    true
}

#[cfg(test)]
mod tests;
