//! `postgresql_ext` (community.postgresql): creates, updates and drops an extension in
//! `login_db`.
//!
//! As the collection: with no `version` an installed extension is left as it is and a
//! missing one is created at its default version; `version: latest` is the control file's
//! `default_version`; another version of an installed extension is reached with
//! `ALTER EXTENSION ... UPDATE TO` when `pg_extension_update_paths` has a path, and fails
//! otherwise (`Passed version '...' has no valid update path ...`); `schema` and `cascade`
//! go into `CREATE EXTENSION`, `cascade` into `DROP EXTENSION`; `comment` is set with
//! `COMMENT ON EXTENSION`; the result has `db`, `ext`, `prev_version`, `version` and
//! `queries` (in check mode, the statements that would run, as the collection lists them).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::{bool_ish, opt_text};
use super::pg_login::{self, LOGIN_ARGS};
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::pgclient::{ClientError, Session, quote};

/// The `postgresql_ext` module.
pub struct PostgresqlExt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtSpec {
    #[serde(default, alias = "name", deserialize_with = "opt_text")]
    ext: Option<String>,
    #[serde(default, alias = "db", deserialize_with = "opt_text")]
    login_db: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    schema: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    cascade: bool,
    #[serde(default, deserialize_with = "opt_text")]
    session_role: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    version: Option<String>,
    #[serde(default = "super::args::yes", deserialize_with = "bool_ish")]
    trust_input: bool,
    #[serde(default, deserialize_with = "opt_text")]
    comment: Option<String>,
}

const OWN_ARGS: &[&str] = &[
    "ext",
    "name",
    "login_db",
    "db",
    "schema",
    "state",
    "cascade",
    "session_role",
    "version",
    "trust_input",
    "comment",
];

static ARG_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| OWN_ARGS.iter().chain(LOGIN_ARGS).copied().collect());

fn fail(m: impl Into<String>) -> ModuleError {
    ModuleError::Failed(m.into())
}

fn mgmt(e: ClientError) -> ModuleError {
    fail(format!("Management of PostgreSQL extension failed: {e}"))
}

/// The installed version, the default version and the available versions of an extension.
type Versions = (Option<String>, Option<String>, Vec<String>);

/// The [`Versions`] of `ext`.
fn versions(s: &mut Session, ext: &str) -> Result<Versions, ClientError> {
    let one = |s: &mut Session, q: String| -> Result<Option<String>, ClientError> {
        Ok(s.scalar(&q)?.as_str().map(str::to_owned))
    };
    let current = one(
        s,
        format!(
            "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = {}",
            quote(ext)
        ),
    )?;
    let default = one(
        s,
        format!(
            "SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = {}",
            quote(ext)
        ),
    )?;
    let available = s
        .rows(&format!(
            "SELECT version FROM pg_catalog.pg_available_extension_versions WHERE name = {}",
            quote(ext)
        ))?
        .into_iter()
        .filter_map(|r| r.get("version").and_then(Json::as_str).map(str::to_owned))
        .collect();
    Ok((current, default, available))
}

impl Module for PostgresqlExt {
    fn name(&self) -> &'static str {
        "postgresql_ext"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        ARG_NAMES.as_slice()
    }

    fn check(&self, ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let (login, rest) =
            pg_login::split("postgresql_ext", args, ctx.environment, ctx.become_user)?;
        let spec: ExtSpec = parse_args("postgresql_ext", &rest)?;
        let ext = spec
            .ext
            .clone()
            .ok_or_else(|| fail("missing required arguments: ext"))?;
        let db = spec
            .login_db
            .clone()
            .ok_or_else(|| fail("missing required arguments: login_db"))?;
        let present = super::args::present(spec.state.as_deref()).map_err(fail)?;
        if !spec.trust_input {
            let values: Vec<&str> = [
                Some(ext.as_str()),
                spec.schema.as_deref(),
                spec.version.as_deref(),
                spec.session_role.as_deref(),
                spec.comment.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            pg_login::check_input(&values)?;
        }
        let mut session = pg_login::open(&login, Some(&db), spec.session_role.as_deref())?;
        let (current, default, available) = versions(&mut session, &ext).map_err(mgmt)?;
        let version = spec.version.as_deref().filter(|v| !v.is_empty());
        let real = match version {
            None | Some("latest") => {
                if available.is_empty() {
                    return Err(fail(format!("Extension {ext} is not available")));
                }
                default.clone().ok_or_else(|| {
                    fail("Passed version 'latest' but no default_version available in extension control file")
                })?
            }
            Some(v) => v.to_owned(),
        };
        let mut queries: Vec<String> = Vec::new();
        let create = |v: Option<&str>| {
            let mut q = format!("CREATE EXTENSION \"{ext}\"");
            if let Some(s) = spec.schema.as_deref().filter(|s| !s.is_empty()) {
                q.push_str(&format!(" WITH SCHEMA \"{s}\""));
            }
            if let Some(v) = v.filter(|v| *v != "latest") {
                q.push_str(&format!(" VERSION {}", quote(v)));
            }
            if spec.cascade {
                q.push_str(" CASCADE");
            }
            q
        };
        if present {
            match (version, &current) {
                (Some(_), Some(cur)) if *cur == real => {}
                (Some(v), Some(cur)) => {
                    let path = session
                        .rows(&format!(
                            "SELECT path FROM pg_extension_update_paths({}) WHERE source = {} AND target = {}",
                            quote(&ext),
                            quote(cur),
                            quote(&real)
                        ))
                        .map_err(mgmt)?;
                    if path.is_empty() {
                        return Err(fail(if v == "latest" {
                            format!(
                                "Latest version '{real}' has no valid update path from the currently installed version '{cur}'"
                            )
                        } else {
                            format!(
                                "Passed version '{v}' has no valid update path from the currently installed version '{cur}' or the passed version is not available"
                            )
                        }));
                    }
                    let mut q = format!("ALTER EXTENSION \"{ext}\" UPDATE");
                    if v != "latest" {
                        q.push_str(&format!(" TO {}", quote(v)));
                    }
                    queries.push(q);
                }
                (Some(v), None) => {
                    if !available.contains(&real) {
                        return Err(fail(if v == "latest" {
                            format!("Latest version '{real}' is not available")
                        } else {
                            format!("Passed version '{real}' is not available")
                        }));
                    }
                    queries.push(create(Some(v)));
                }
                (None, Some(_)) => {}
                (None, None) => queries.push(create(None)),
            }
            if let Some(comment) = &spec.comment {
                let now = if current.is_some() {
                    session
                        .scalar(&format!(
                            "SELECT pg_catalog.obj_description(e.oid, 'pg_extension') AS comment \
                             FROM pg_catalog.pg_extension AS e WHERE e.extname = {}",
                            quote(&ext)
                        ))
                        .map_err(mgmt)?
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                } else {
                    String::new()
                };
                if *comment != now {
                    queries.push(format!(
                        "COMMENT ON EXTENSION \"{ext}\" IS {}",
                        quote(comment)
                    ));
                }
            }
        } else if current.is_some() {
            let cascade = if spec.cascade { " CASCADE" } else { "" };
            queries.push(format!("DROP EXTENSION \"{ext}\"{cascade}"));
        }
        let mut data = Map::new();
        data.insert("db".into(), Json::from(db.clone()));
        data.insert("ext".into(), Json::from(ext.clone()));
        data.insert(
            "prev_version".into(),
            Json::from(current.clone().unwrap_or_default()),
        );
        if queries.is_empty() {
            data.insert(
                "version".into(),
                Json::from(current.clone().unwrap_or_default()),
            );
            data.insert("queries".into(), Json::Array(Vec::new()));
            let mut o = Outcome::ok(match &current {
                Some(v) => format!("extension `{ext}` is at version {v}"),
                None => format!("extension `{ext}` is absent"),
            });
            o.data = data;
            return Ok(Plan::done(o));
        }
        data.insert(
            "version".into(),
            Json::from(if present { real } else { String::new() }),
        );
        data.insert(
            "queries".into(),
            Json::Array(queries.iter().cloned().map(Json::from).collect()),
        );
        let o = Outcome {
            changed: true,
            msg: format!("would run: {}", queries.join("; ")),
            data: data.clone(),
            dangerous: !present,
            ..Outcome::default()
        };
        Ok(Plan::change(
            o,
            Run {
                session,
                ext,
                queries,
                data,
            },
        ))
    }
}

/// The planned statements, on the open session.
struct Run {
    session: Session,
    ext: String,
    queries: Vec<String>,
    data: Map<String, Json>,
}

impl Action for Run {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Run {
            mut session,
            ext,
            queries,
            mut data,
        } = *self;
        for q in &queries {
            session.batch(q).map_err(mgmt)?;
        }
        let (now, _, _) = versions(&mut session, &ext).map_err(mgmt)?;
        data.insert("version".into(), Json::from(now.unwrap_or_default()));
        Ok(Outcome {
            changed: true,
            msg: queries.join("; "),
            data,
            ..Outcome::default()
        })
    }
}

#[cfg(test)]
mod tests;
