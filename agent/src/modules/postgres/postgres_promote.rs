//! `postgres_promote`: promote a standby to primary, never while split brain is possible.
//!
//! A no-op when the server is already a primary. Otherwise it refuses unless every address
//! in `require_down` fails to answer on its PostgreSQL port (checked from this host; the
//! controller-side check of the same addresses is not implemented yet), or `force: true` — which is reported as dangerous.
//! Apply records the replay lag just before promoting (the RPO estimate), runs
//! `pg_ctl promote`, and waits until `pg_is_in_recovery()` is false.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::pg::{self, PgConn};
use super::wait_for::connect_any;
use super::{Action, ArgsError, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::clock;
use crate::wire::Diff;

/// The `postgres_promote` module.
pub struct PostgresPromote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteSpec {
    data_dir: String,
    pg_ctl: Option<String>,
    pg_version: Option<String>,
    #[serde(default)]
    require_down: Vec<String>,
    /// The port `require_down` entries without one are checked on.
    #[serde(default = "default_port")]
    require_down_port: u16,
    #[serde(default, deserialize_with = "bool_ish")]
    force: bool,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default = "default_fence_timeout")]
    fence_timeout: f64,
    host: Option<String>,
    port: Option<u16>,
    os_user: Option<String>,
}

fn default_port() -> u16 {
    5432
}
fn default_timeout() -> u64 {
    60
}
fn default_fence_timeout() -> f64 {
    3.0
}

impl Module for PostgresPromote {
    fn name(&self) -> &'static str {
        "postgres_promote"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "data_dir",
            "pg_ctl",
            "pg_version",
            "require_down",
            "require_down_port",
            "force",
            "timeout",
            "fence_timeout",
            "host",
            "port",
            "os_user",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: PromoteSpec = parse_args("postgres_promote", args)?;
        let data_dir = PathBuf::from(&spec.data_dir);
        let bin = pg::bin_dir(
            spec.pg_ctl.as_deref(),
            spec.pg_version.as_deref(),
            Some(&data_dir),
        )?;
        let os_user = pg::os_user(spec.os_user.as_deref(), None);
        if pg::postmaster(&data_dir).is_none() {
            if !data_dir.join("PG_VERSION").exists() {
                return Err(ModuleError::Failed(format!(
                    "`{}` is not a PostgreSQL data directory",
                    data_dir.display()
                )));
            }
            if !data_dir.join("standby.signal").exists()
                && !data_dir.join("recovery.signal").exists()
            {
                let mut o = Outcome::ok(format!(
                    "`{}` is already a primary (not running)",
                    data_dir.display()
                ));
                o.data.insert("in_recovery".into(), Json::Bool(false));
                return Ok(Plan::done(o));
            }
            return Ok(Plan::done(Outcome::failed(format!(
                "the standby on `{}` is not running; start it before promoting",
                data_dir.display()
            ))));
        }
        let conn = pg::local_conn(
            &bin,
            &data_dir,
            spec.host.as_deref(),
            spec.port,
            os_user.clone(),
        );
        let before = pg::state_facts(&conn.row(pg::STATE_SQL)?);
        if before["in_recovery"] == Json::Bool(false) {
            let mut o = Outcome::ok(format!("`{}` is already a primary", data_dir.display()));
            o.data.insert("in_recovery".into(), Json::Bool(false));
            o.data.insert("timeline".into(), before["timeline"].clone());
            return Ok(Plan::done(o));
        }

        let fence = Duration::from_secs_f64(spec.fence_timeout.clamp(0.1, 60.0));
        let mut checked = Vec::new();
        let mut answering = Vec::new();
        for entry in &spec.require_down {
            let (host, port) = split_host_port(entry, spec.require_down_port)?;
            let shown = format!("{host}:{port}");
            if connect_any(&host, port, fence).is_some() {
                answering.push(shown.clone());
            }
            checked.push(shown);
        }
        let mut data = Map::new();
        data.insert("require_down".into(), Json::from(checked.clone()));
        data.insert("forced".into(), Json::Bool(spec.force));
        let refusal = if spec.require_down.is_empty() {
            Some("no `require_down` addresses prove the old primary is down; list them, or set `force: true` if it is fenced some other way".to_owned())
        } else if !answering.is_empty() {
            Some(format!(
                "the old primary still answers on {} (split brain risk); stop or fence it, or set `force: true`",
                answering.join(", ")
            ))
        } else {
            None
        };
        let mut msg = format!(
            "would promote the standby on `{}` (replay lag {}, last replay {})",
            data_dir.display(),
            show(&before["replay_lag_seconds"], "s"),
            show(&before["last_replay_timestamp"], "")
        );
        let dangerous = match (&refusal, spec.force) {
            (Some(why), false) => {
                let mut o = Outcome::failed(format!(
                    "refusing to promote `{}`: {why}",
                    data_dir.display()
                ));
                o.data = data;
                return Ok(Plan::done(o));
            }
            (Some(why), true) => {
                msg.push_str(&format!("; FORCED although {why}"));
                true
            }
            (None, _) => {
                msg.push_str(&format!(
                    "; old primary is down: {} do not answer",
                    checked.join(", ")
                ));
                false
            }
        };
        let outcome = Outcome {
            changed: true,
            msg,
            dangerous,
            diffs: vec![Diff {
                target: format!("postgres {}", data_dir.display()),
                text: "role: standby -> primary".into(),
            }],
            data: data.clone(),
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Promote {
                bin,
                data_dir,
                conn,
                os_user,
                timeout: Duration::from_secs(spec.timeout.max(1)),
                data,
                dangerous,
            },
        ))
    }
}

/// `db-01:5433` or `db-01` (then `default`); `[::1]:5432` for IPv6.
fn split_host_port(entry: &str, default: u16) -> Result<(String, u16), ArgsError> {
    let bad = || {
        ArgsError::new(
            "postgres_promote",
            format!("`require_down`: `{entry}` is not `host` or `host:port`"),
        )
    };
    let entry = entry.trim();
    if let Some(v6) = entry.strip_prefix('[') {
        let (h, rest) = v6.split_once(']').ok_or_else(bad)?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => default,
        };
        return Ok((h.to_owned(), port));
    }
    match entry.split_once(':') {
        Some((h, p)) if !p.contains(':') => Ok((h.to_owned(), p.parse().map_err(|_| bad())?)),
        Some(_) => Ok((entry.to_owned(), default)),
        None if entry.is_empty() => Err(bad()),
        None => Ok((entry.to_owned(), default)),
    }
}

fn show(v: &Json, unit: &str) -> String {
    match v {
        Json::Null => "unknown".into(),
        Json::String(s) => format!("{s}{unit}"),
        other => format!("{other}{unit}"),
    }
}

/// The apply half: promote and wait.
struct Promote {
    bin: PathBuf,
    data_dir: PathBuf,
    conn: PgConn,
    os_user: Option<String>,
    timeout: Duration,
    data: Map<String, Json>,
    /// Forced past the guard: the applied result stays marked dangerous.
    dangerous: bool,
}

impl Action for Promote {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Promote {
            bin,
            data_dir,
            conn,
            os_user,
            timeout,
            mut data,
            dangerous,
        } = *self;
        // The lag at the moment of promotion is the RPO estimate: measure it last.
        let before = pg::state_facts(&conn.row(pg::STATE_SQL)?);
        let promoted_at = SystemTime::now();
        let dir = data_dir.display().to_string();
        let secs = timeout.as_secs().to_string();
        pg::pg_ctl(
            &bin,
            os_user.as_deref(),
            &["promote", "-w", "-t", &secs, "-D", &dir],
            &format!("`pg_ctl promote` on `{dir}`"),
        )?;
        let after = wait_primary(&conn, &data_dir, timeout)?;
        data.insert(
            "promoted_at".into(),
            Json::from(clock::timestamp(promoted_at)),
        );
        data.insert(
            "replay_lag_seconds".into(),
            before["replay_lag_seconds"].clone(),
        );
        data.insert(
            "last_replay_timestamp".into(),
            before["last_replay_timestamp"].clone(),
        );
        data.insert("timeline_before".into(), before["timeline"].clone());
        data.insert("timeline".into(), after["timeline"].clone());
        data.insert("in_recovery".into(), Json::Bool(false));
        let took = SystemTime::now()
            .duration_since(promoted_at)
            .unwrap_or_default();
        data.insert("promote_seconds".into(), Json::from(took.as_secs_f64()));
        Ok(Outcome {
            changed: true,
            msg: format!(
                "promoted `{dir}` at {} UTC (replay lag at promotion {})",
                clock::timestamp(promoted_at),
                show(&before["replay_lag_seconds"], "s")
            ),
            data,
            dangerous,
            ..Outcome::default()
        })
    }
}

/// Polls until the server reports it is out of recovery.
fn wait_primary(
    conn: &PgConn,
    data_dir: &Path,
    timeout: Duration,
) -> Result<Map<String, Json>, ModuleError> {
    let deadline = Instant::now() + timeout;
    loop {
        let facts = pg::state_facts(&conn.row(pg::STATE_SQL)?);
        if facts["in_recovery"] == Json::Bool(false) {
            return Ok(facts);
        }
        if Instant::now() >= deadline {
            return Err(ModuleError::Failed(format!(
                "`{}` is still in recovery {}s after `pg_ctl promote`",
                data_dir.display(),
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests;
