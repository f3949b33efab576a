//! `postgres_replica`: make a data directory a streaming replica of a primary.
//!
//! A no-op when the local server already streams from that primary. Otherwise the data
//! directory is rebuilt — stop, empty, `pg_basebackup -X stream -R`, start, wait for
//! streaming — which destroys what it holds, so a non-empty directory needs
//! `destroy_data: true` (the plan marks it dangerous; `dr apply` asks unless `--yes`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::bool_ish;
use super::hostcmd::{self, command_as};
use super::pg;
use super::{Action, Context, Module, ModuleError, Outcome, Plan, parse_args};
use crate::wire::Diff;

/// The `postgres_replica` module.
pub struct PostgresReplica;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicaSpec {
    data_dir: String,
    primary_host: String,
    #[serde(default = "default_port")]
    primary_port: u16,
    replication_user: String,
    replication_password: Option<String>,
    slot: Option<String>,
    #[serde(default, deserialize_with = "bool_ish")]
    destroy_data: bool,
    pg_ctl: Option<String>,
    pg_version: Option<String>,
    /// Debian keeps the configuration apart (`/etc/postgresql/15/main`): `pg_ctl -D` gets it.
    config_dir: Option<String>,
    log_file: Option<String>,
    os_user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

fn default_port() -> u16 {
    5432
}
fn default_timeout() -> u64 {
    300
}

impl Module for PostgresReplica {
    fn name(&self) -> &'static str {
        "postgres_replica"
    }

    fn arg_names(&self) -> &'static [&'static str] {
        &[
            "data_dir",
            "primary_host",
            "primary_port",
            "replication_user",
            "replication_password",
            "slot",
            "destroy_data",
            "pg_ctl",
            "pg_version",
            "config_dir",
            "log_file",
            "os_user",
            "host",
            "port",
            "timeout",
        ]
    }

    fn check(&self, _ctx: &Context<'_>, args: &Json) -> Result<Plan, ModuleError> {
        let spec: ReplicaSpec = parse_args("postgres_replica", args)?;
        let data_dir = PathBuf::from(&spec.data_dir);
        let bin = pg::bin_dir(
            spec.pg_ctl.as_deref(),
            spec.pg_version.as_deref(),
            Some(&data_dir),
        )?;
        let os_user = pg::os_user(spec.os_user.as_deref(), None);
        let want = format!("{}:{}", spec.primary_host, spec.primary_port);
        let running = pg::postmaster(&data_dir).is_some();
        let current = if running {
            let conn = pg::local_conn(
                &bin,
                &data_dir,
                spec.host.as_deref(),
                spec.port,
                os_user.clone(),
            );
            let facts = pg::state_facts(&conn.row(pg::STATE_SQL)?);
            if streams_from(&facts, &spec.primary_host, spec.primary_port) {
                let mut o = Outcome::ok(format!(
                    "`{}` already streams from {want}",
                    data_dir.display()
                ));
                o.data.insert("postgres".into(), Json::Object(facts));
                return Ok(Plan::done(o));
            }
            describe(&facts)
        } else if is_empty(&data_dir)? {
            "empty data directory".to_owned()
        } else {
            "not running".to_owned()
        };
        let has_data = !is_empty(&data_dir)?;
        let mut data = Map::new();
        data.insert("primary".into(), Json::from(want.clone()));
        data.insert("data_dir".into(), Json::from(spec.data_dir.clone()));
        if has_data && !spec.destroy_data {
            let mut o = Outcome::failed(format!(
                "`{}` ({current}) does not stream from {want}; rebuilding it deletes its data: set `destroy_data: true` to allow that",
                data_dir.display()
            ));
            o.data = data;
            return Ok(Plan::done(o));
        }
        let mut steps = Vec::new();
        if running {
            steps.push("stop the server".to_owned());
        }
        if has_data {
            steps.push(format!("DELETE everything in `{}`", data_dir.display()));
        }
        steps.push(format!("pg_basebackup -X stream -R from {want}"));
        steps.push("start it and wait for streaming".to_owned());
        let outcome = Outcome {
            changed: true,
            dangerous: has_data,
            msg: format!("would rebuild as a replica of {want}: {}", steps.join(", ")),
            diffs: vec![Diff {
                target: format!("postgres {}", data_dir.display()),
                text: format!("replication: {current} -> streaming from {want}"),
            }],
            data,
            ..Outcome::default()
        };
        Ok(Plan::change(
            outcome,
            Rebuild {
                spec,
                bin,
                data_dir,
                os_user,
                running,
                dangerous: has_data,
            },
        ))
    }
}

/// Whether the WAL receiver streams from `host:port` (by the address it connected to, or the
/// host named in its conninfo).
fn streams_from(facts: &Map<String, Json>, host: &str, port: u16) -> bool {
    let r = &facts["wal_receiver"];
    let named = r["conninfo"]
        .as_str()
        .is_some_and(|c| c.split_whitespace().any(|kv| kv == format!("host={host}")));
    r["status"] == "streaming" && r["sender_port"] == port && (r["sender_host"] == host || named)
}

fn describe(facts: &Map<String, Json>) -> String {
    let r = &facts["wal_receiver"];
    match (facts["in_recovery"].as_bool(), r["status"].as_str()) {
        (Some(false), _) => "running as a primary".to_owned(),
        (_, Some(status)) => format!(
            "standby, WAL receiver {status} from {}:{}",
            r["sender_host"].as_str().unwrap_or("?"),
            r["sender_port"]
        ),
        _ => "standby without a WAL receiver".to_owned(),
    }
}

fn is_empty(dir: &Path) -> Result<bool, ModuleError> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => Ok(rd.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(ModuleError::io("cannot read", dir.display(), e)),
    }
}

/// The apply half: stop, empty, base backup, start, wait.
struct Rebuild {
    spec: ReplicaSpec,
    bin: PathBuf,
    data_dir: PathBuf,
    os_user: Option<String>,
    running: bool,
    dangerous: bool,
}

impl Action for Rebuild {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let Rebuild {
            spec,
            bin,
            data_dir,
            os_user,
            running,
            dangerous,
        } = *self;
        let user = os_user.as_deref();
        let dir = data_dir.display().to_string();
        let ctl_dir = spec.config_dir.clone().unwrap_or_else(|| dir.clone());
        let timeout = spec.timeout.max(1).to_string();
        let started = Instant::now();
        if running {
            pg::pg_ctl(
                &bin,
                user,
                &["stop", "-m", "fast", "-w", "-t", &timeout, "-D", &ctl_dir],
                &format!("`pg_ctl stop` on `{dir}`"),
            )?;
        }
        empty_dir(&data_dir)?;
        let want = format!("{}:{}", spec.primary_host, spec.primary_port);
        basebackup(&spec, &bin, user, &dir)?;
        let log = spec
            .log_file
            .clone()
            .unwrap_or_else(|| format!("{dir}/pg_ctl.log"));
        pg::pg_ctl(
            &bin,
            user,
            &["start", "-w", "-t", &timeout, "-D", &ctl_dir, "-l", &log],
            &format!("`pg_ctl start` on `{dir}` (log: `{log}`)"),
        )?;
        let conn = pg::local_conn(
            &bin,
            &data_dir,
            spec.host.as_deref(),
            spec.port,
            os_user.clone(),
        );
        let deadline = Instant::now() + Duration::from_secs(spec.timeout.max(1));
        let facts = loop {
            let facts = pg::state_facts(&conn.row(pg::STATE_SQL)?);
            if streams_from(&facts, &spec.primary_host, spec.primary_port) {
                break facts;
            }
            if Instant::now() >= deadline {
                return Err(ModuleError::Failed(format!(
                    "`{dir}` was rebuilt from {want} but does not stream after {}s ({}); see `{log}`",
                    spec.timeout,
                    describe(&facts)
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        let mut data = Map::new();
        data.insert("primary".into(), Json::from(want.clone()));
        data.insert("data_dir".into(), Json::from(dir.clone()));
        data.insert(
            "rebuild_seconds".into(),
            Json::from(started.elapsed().as_secs_f64()),
        );
        data.insert("postgres".into(), Json::Object(facts));
        Ok(Outcome {
            changed: true,
            dangerous,
            msg: format!("`{dir}` rebuilt and streaming from {want}"),
            data,
            ..Outcome::default()
        })
    }
}

/// Removes everything inside `dir`, keeping the directory (its owner and mode stay).
fn empty_dir(dir: &Path) -> Result<(), ModuleError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ModuleError::io("cannot read", dir.display(), e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| ModuleError::io("cannot read", dir.display(), e))?;
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let res = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        res.map_err(|e| ModuleError::io("cannot remove", path.display(), e))?;
    }
    Ok(())
}

/// `pg_basebackup -X stream -R` into `dir`; the password goes through the environment, never
/// argv. With `slot`, the slot is created unless it already exists on the primary.
fn basebackup(
    spec: &ReplicaSpec,
    bin: &Path,
    user: Option<&str>,
    dir: &str,
) -> Result<(), ModuleError> {
    let run = |create_slot: bool| {
        let mut c = command_as(user, bin.join("pg_basebackup"));
        c.current_dir("/")
            .args([
                "-D",
                dir,
                "-h",
                &spec.primary_host,
                "-p",
                &spec.primary_port.to_string(),
            ])
            .args([
                "-U",
                &spec.replication_user,
                "-X",
                "stream",
                "-R",
                "-w",
                "-c",
                "fast",
            ]);
        if let Some(slot) = &spec.slot {
            c.args(["-S", slot]);
            if create_slot {
                c.arg("-C");
            }
        }
        if let Some(pw) = &spec.replication_password {
            c.env("PGPASSWORD", pw);
        }
        hostcmd::run(&mut c, "`pg_basebackup`")
    };
    let mut ran = run(spec.slot.is_some())?;
    if !ran.ok() && spec.slot.is_some() && ran.stderr.contains("already exists") {
        empty_dir(Path::new(dir))?;
        ran = run(false)?;
    }
    if ran.ok() {
        Ok(())
    } else {
        Err(ModuleError::Failed(format!(
            "`pg_basebackup` from {}:{} into `{dir}` failed (exit {}): {}",
            spec.primary_host,
            spec.primary_port,
            ran.rc,
            ran.why()
        )))
    }
}

#[cfg(test)]
mod tests;
