//! Shared PostgreSQL plumbing for the `postgres_*` modules: finding the binaries, running
//! `psql` (as the `postgres` OS user when the agent is root, like Ansible's
//! `become_user: postgres`), `pg_ctl`, and reading a cluster's state.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value as Json};

use super::ModuleError;
use super::hostcmd::{self, Ran, command_as, is_root};

/// Where Debian's packages put each major version's programs.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The directory holding `pg_ctl`, `psql`, `pg_basebackup`: from `pg_ctl` (its directory),
/// `pg_version` (Debian's layout), the data directory's `PG_VERSION`, or the newest version
/// installed under /usr/lib/postgresql.
pub(super) fn bin_dir(
    pg_ctl: Option<&str>,
    version: Option<&str>,
    data_dir: Option<&Path>,
) -> Result<PathBuf, ModuleError> {
    if let Some(p) = pg_ctl {
        let p = Path::new(p);
        if !p.is_file() {
            return Err(ModuleError::Failed(format!(
                "`pg_ctl`: `{}` does not exist",
                p.display()
            )));
        }
        return Ok(p.parent().map(Path::to_path_buf).unwrap_or_default());
    }
    if let Some(v) = version {
        let dir = Path::new(DEBIAN_ROOT).join(v).join("bin");
        return if dir.join("pg_ctl").is_file() {
            Ok(dir)
        } else {
            Err(ModuleError::Failed(format!(
                "PostgreSQL {v} is not installed: `{}` has no `pg_ctl` (install `postgresql-{v}` or give `pg_ctl`)",
                dir.display()
            )))
        };
    }
    if let Some(v) = data_dir.and_then(|d| std::fs::read_to_string(d.join("PG_VERSION")).ok()) {
        let dir = Path::new(DEBIAN_ROOT).join(v.trim()).join("bin");
        if dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Ok(ran) = hostcmd::run(Command::new("pg_config").arg("--bindir"), "`pg_config`")
        && ran.ok()
    {
        let dir = PathBuf::from(ran.stdout.trim());
        if dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    Err(ModuleError::Failed(format!(
        "cannot find the PostgreSQL server programs (no `{DEBIAN_ROOT}/<version>/bin/pg_ctl`, no `pg_config`): install `postgresql` or give `pg_ctl` or `pg_version`"
    )))
}

/// `psql` from `bin`, else the one on PATH.
fn psql_program(bin: Option<&Path>) -> PathBuf {
    match bin.map(|b| b.join("psql")) {
        Some(p) if p.is_file() => p,
        _ => PathBuf::from("psql"),
    }
}

/// The OS user to run PostgreSQL programs as: the one asked for, else `postgres` when the
/// agent is root (root may not run the server, and peer authentication maps OS users).
pub(super) fn os_user(asked: Option<&str>, conninfo: Option<&str>) -> Option<String> {
    match asked {
        Some(u) => Some(u.to_owned()),
        None if is_root() && conninfo.is_none() => Some("postgres".to_owned()),
        None => None,
    }
}

/// How to reach a server with `psql`.
#[derive(Debug, Clone, Default)]
pub(super) struct PgConn {
    /// Where `psql` lives (else PATH).
    pub bin: Option<PathBuf>,
    /// Host name or socket directory.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Database.
    pub db: Option<String>,
    /// Database role (`-U`).
    pub login_user: Option<String>,
    /// A libpq connection string or URI; overrides the fields above it names.
    pub conninfo: Option<String>,
    /// OS user to run `psql` as.
    pub os_user: Option<String>,
    /// The task's `environment:` (`PGPASSWORD`, `PGSSLMODE`...), passed to `psql`.
    pub env: Vec<(String, String)>,
}

/// A query's result: column names and rows (each value a string or null).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Rows {
    /// Column names in order.
    pub columns: Vec<String>,
    /// One map per row, in column order.
    pub rows: Vec<Map<String, Json>>,
}

/// Why a query did not return rows.
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum PgError {
    /// The server could not be reached.
    #[error("cannot connect to PostgreSQL{target}: {msg}")]
    Connect {
        /// ` at <host:port>` for the message.
        target: String,
        /// psql's message.
        msg: String,
    },
    /// The server rejected the SQL.
    #[error("{msg}")]
    Sql {
        /// SQLSTATE, when psql reported one.
        code: Option<String>,
        /// The server's message.
        msg: String,
    },
    /// psql itself could not be run.
    #[error("{0}")]
    Run(String),
}

impl From<PgError> for ModuleError {
    fn from(e: PgError) -> Self {
        ModuleError::Failed(e.to_string())
    }
}

impl PgConn {
    /// ` at host:port` for messages, password-free.
    fn target(&self) -> String {
        match (&self.host, self.port, &self.conninfo) {
            (_, _, Some(c)) => format!(" at `{}`", super::http::mask_url(c)),
            (Some(h), Some(p), None) => format!(" at `{h}` port {p}"),
            (Some(h), None, None) => format!(" at `{h}`"),
            (None, Some(p), None) => format!(" on port {p}"),
            (None, None, None) => String::new(),
        }
    }

    fn command(&self) -> Command {
        let mut c = command_as(self.os_user.as_deref(), psql_program(self.bin.as_deref()));
        // psql as `postgres` cannot enter root's cwd; `/` avoids its warning.
        c.current_dir("/");
        c.env("PGTZ", "UTC").env("PGCONNECT_TIMEOUT", "5");
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c.args([
            "-X",
            "-q",
            "--csv",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
        ]);
        c.arg("-P").arg(format!("null={NULL_MARK}"));
        if let Some(h) = &self.host {
            c.args(["-h", h]);
        }
        if let Some(p) = self.port {
            c.args(["-p", &p.to_string()]);
        }
        if let Some(u) = &self.login_user {
            c.args(["-U", u]);
        }
        match (&self.conninfo, &self.db) {
            (Some(ci), _) => {
                // The password never goes on the command line (`ps` shows it to every
                // user of the host): libpq reads it from the environment.
                let (ci, password) = without_password(ci);
                if let Some(pw) = password {
                    c.env("PGPASSWORD", pw);
                }
                c.args(["-d", &ci]);
            }
            (None, Some(db)) => {
                c.args(["-d", db]);
            }
            (None, None) => {
                c.args(["-d", "postgres"]);
            }
        }
        c
    }

    /// Runs `sql`; inside `BEGIN READ ONLY ... ROLLBACK` when `read_only`, so a statement that
    /// writes fails with SQLSTATE 25006 and leaves nothing behind. The session's transactions
    /// are read-only by default too, so SQL that ends the transaction (`COMMIT; DELETE ...`)
    /// does not write in the next one by mistake.
    ///
    /// The SQL goes to psql on its standard input (`-f -`), never on its command line: `ps`
    /// shows every process's arguments to every user of the host, and SQL carries secrets
    /// (`ALTER ROLE ... PASSWORD`) as often as the connection string does. psql reads the
    /// text as a script: its own `\` meta-commands and `:VARIABLE` interpolation apply, as
    /// with `psql -f`. A write runs in one transaction (`-1`), as the whole string did with
    /// `psql -c` and as Ansible's `postgresql_query` commits it; a statement that cannot run
    /// inside one (`VACUUM`, `CREATE DATABASE`: SQLSTATE 25001) is run again without it, which
    /// is safe for everything a transaction undoes (not for what none does, such as `nextval()`
    /// before the `VACUUM` in the same string, which then happens twice).
    pub fn query(&self, sql: &str, read_only: bool) -> Result<Rows, PgError> {
        if read_only {
            // The newline ends a trailing `--` comment, the `;` an unterminated last statement.
            let script = format!(
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\nBEGIN TRANSACTION READ ONLY;\n{sql}\n;\nROLLBACK;\n"
            );
            return self.run_script(&script, false);
        }
        match self.run_script(sql, true) {
            Err(PgError::Sql {
                code: Some(code), ..
            }) if code == "25001" => self.run_script(sql, false),
            other => other,
        }
    }

    /// Feeds `script` to psql on stdin, in one transaction when `single_transaction`.
    fn run_script(&self, script: &str, single_transaction: bool) -> Result<Rows, PgError> {
        let mut c = self.command();
        if single_transaction {
            c.arg("-1");
        }
        c.args(["-f", "-"]);
        let ran = hostcmd::run_with_stdin(&mut c, script.as_bytes(), "`psql`")
            .map_err(|e| PgError::Run(e.to_string()))?;
        match ran.rc {
            0 => parse_csv(&ran.stdout).map_err(PgError::Run),
            2 => Err(PgError::Connect {
                target: self.target(),
                msg: first_line(&ran.stderr),
            }),
            _ => Err(sql_error(&ran)),
        }
    }

    /// The first row of `sql` (read-only), or an error when it returns none.
    pub fn row(&self, sql: &str) -> Result<Map<String, Json>, PgError> {
        self.query(sql, true)?
            .rows
            .into_iter()
            .next()
            .ok_or_else(|| PgError::Run(format!("`{sql}` returned no row")))
    }
}

fn first_line(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("psql: error: ").unwrap_or(s);
    s.lines().next().unwrap_or("").trim().to_owned()
}

/// `ERROR:  25006: cannot execute INSERT in a read-only transaction` → code and message.
fn sql_error(ran: &Ran) -> PgError {
    let text = ran.why();
    for line in text.lines() {
        let Some(rest) = line
            .find("ERROR:")
            .or_else(|| line.find("FATAL:"))
            .map(|i| line[i + 6..].trim())
        else {
            continue;
        };
        let (code, msg) = match rest.split_once(": ") {
            Some((code, msg))
                if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                (Some(code.to_owned()), msg.to_owned())
            }
            _ => (None, rest.to_owned()),
        };
        return PgError::Sql { code, msg };
    }
    PgError::Sql {
        code: None,
        msg: first_line(&text),
    }
}

/// A libpq connection string without its password, and the password: the URI form
/// (`postgresql://user:pw@host/db`, percent-decoded) and the keyword form
/// (`host=h password=pw`, quoted or not).
fn without_password(conninfo: &str) -> (String, Option<String>) {
    let trimmed = conninfo.trim();
    if let Some((scheme, rest)) = trimmed.split_once("://")
        && matches!(scheme, "postgresql" | "postgres")
    {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if let Some((userinfo, host)) = authority.rsplit_once('@')
            && let Some((user, pw)) = userinfo.split_once(':')
        {
            let pw = percent_decode(pw);
            return (format!("{scheme}://{user}@{host}{tail}"), Some(pw));
        }
        return (conninfo.to_owned(), None);
    }
    // Keyword form: `key=value` pairs, values optionally single-quoted with `\'` escapes.
    let mut kept = Vec::new();
    let mut password = None;
    let mut chars = trimmed.chars().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            if !key.is_empty() {
                kept.push(key);
            }
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut raw = String::new();
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            raw.push('\'');
            chars.next();
            while let Some(c) = chars.next() {
                raw.push(c);
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            raw.push(n);
                            value.push(n);
                        }
                    }
                    '\'' => break,
                    _ => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                raw.push(c);
                value.push(c);
                chars.next();
            }
        }
        if key == "password" {
            password = Some(value);
        } else {
            kept.push(format!("{key}={raw}"));
        }
    }
    match password {
        Some(pw) => (kept.join(" "), Some(pw)),
        None => (conninfo.to_owned(), None),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What psql prints for NULL: psql's CSV prints NULL and `''` alike unless told otherwise,
/// and a value containing control characters like these is quoted, so no text collides.
const NULL_MARK: &str = "\u{1f}NULL\u{1f}";

/// psql's `--csv` output: a header line, then rows; an unquoted [`NULL_MARK`] is NULL.
pub(super) fn parse_csv(text: &str) -> Result<Rows, String> {
    let mut records: Vec<Vec<Option<String>>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match c {
            '"' if field.is_empty() && !quoted => {
                quoted = true;
                let mut closed = false;
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            field.push('"');
                        } else {
                            closed = true;
                            break;
                        }
                    } else {
                        field.push(c);
                    }
                }
                if !closed {
                    return Err("psql printed an unterminated quoted field".into());
                }
            }
            ',' => {
                record.push(take(&mut field, &mut quoted));
            }
            '\n' => {
                record.push(take(&mut field, &mut quoted));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            c => field.push(c),
        }
    }
    if any {
        record.push(take(&mut field, &mut quoted));
        records.push(record);
    }
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Ok(Rows::default());
    };
    let columns: Vec<String> = header.into_iter().map(Option::unwrap_or_default).collect();
    let rows = it
        .map(|r| {
            columns
                .iter()
                .cloned()
                .zip(r.into_iter().map(|v| v.map_or(Json::Null, Json::from)))
                .collect()
        })
        .collect();
    Ok(Rows { columns, rows })
}

fn take(field: &mut String, quoted: &mut bool) -> Option<String> {
    let v = std::mem::take(field);
    let was_quoted = std::mem::replace(quoted, false);
    (was_quoted || v != NULL_MARK).then_some(v)
}

/// What `postmaster.pid` says about a running server: its port and socket directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Postmaster {
    /// The server's process id.
    pub pid: u32,
    /// The port it listens on.
    pub port: u16,
    /// The first Unix socket directory (empty when sockets are off).
    pub socket_dir: String,
}

/// The running server of `data_dir`, from `postmaster.pid`, when its process is alive.
pub(super) fn postmaster(data_dir: &Path) -> Option<Postmaster> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid: u32 = lines.first()?.trim().parse().ok()?;
    let port: u16 = lines.get(3)?.trim().parse().ok()?;
    let socket_dir = lines.get(4).map_or("", |s| s.trim()).to_owned();
    // A stale pid file after a crash: the process is gone.
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return None;
    }
    Some(Postmaster {
        pid,
        port,
        socket_dir,
    })
}

/// A connection to the server running on `data_dir`, through its socket, unless `host` or
/// `port` are given.
pub(super) fn local_conn(
    bin: &Path,
    data_dir: &Path,
    host: Option<&str>,
    port: Option<u16>,
    os_user: Option<String>,
) -> PgConn {
    let pm = postmaster(data_dir);
    let socket = pm
        .as_ref()
        .map(|p| p.socket_dir.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    PgConn {
        bin: Some(bin.to_path_buf()),
        host: Some(host.map_or(socket, str::to_owned)),
        port: port.or(pm.map(|p| p.port)),
        db: Some("postgres".into()),
        login_user: None,
        conninfo: None,
        os_user,
        env: Vec::new(),
    }
}

/// Runs `pg_ctl <args>` from `bin` as `os_user`.
pub(super) fn pg_ctl(
    bin: &Path,
    os_user: Option<&str>,
    args: &[&str],
    what: &str,
) -> Result<Ran, ModuleError> {
    let mut c = command_as(os_user, bin.join("pg_ctl"));
    c.current_dir("/").args(args);
    hostcmd::run_ok(&mut c, what)
}

/// The replication state of the server behind `conn`, for facts and plans.
pub(super) const STATE_SQL: &str = "SELECT pg_is_in_recovery() AS in_recovery, \
  CASE WHEN NOT pg_is_in_recovery() THEN NULL \
       WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
       ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END AS replay_lag_seconds, \
  pg_last_xact_replay_timestamp() AS last_replay_timestamp, \
  CASE WHEN pg_is_in_recovery() \
       THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (pg_control_checkpoint()).timeline_id) \
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline, \
  current_setting('server_version') AS version, \
  (SELECT status FROM pg_stat_wal_receiver) AS wal_receiver_status, \
  (SELECT sender_host FROM pg_stat_wal_receiver) AS sender_host, \
  (SELECT sender_port FROM pg_stat_wal_receiver) AS sender_port, \
  (SELECT slot_name FROM pg_stat_wal_receiver) AS slot_name, \
  (SELECT conninfo FROM pg_stat_wal_receiver) AS wal_receiver_conninfo";

/// The server's state as typed facts (`running: true`, `in_recovery`, `replay_lag_seconds`...).
pub(super) fn state_facts(row: &Map<String, Json>) -> Map<String, Json> {
    let s = |k: &str| row.get(k).and_then(Json::as_str);
    let mut f = Map::new();
    f.insert("running".into(), Json::Bool(true));
    f.insert(
        "in_recovery".into(),
        Json::Bool(s("in_recovery") == Some("t")),
    );
    let num = |k: &str| {
        s(k).and_then(|v| v.parse::<f64>().ok())
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number)
    };
    f.insert("replay_lag_seconds".into(), num("replay_lag_seconds"));
    f.insert(
        "last_replay_timestamp".into(),
        s("last_replay_timestamp").map_or(Json::Null, Json::from),
    );
    f.insert(
        "timeline".into(),
        s("timeline")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Json::Null, Json::from),
    );
    f.insert(
        "version".into(),
        s("version").map_or(Json::Null, Json::from),
    );
    let receiver = match s("wal_receiver_status") {
        None => Json::Null,
        Some(status) => {
            let mut r = Map::new();
            r.insert("status".into(), Json::from(status));
            r.insert(
                "sender_host".into(),
                s("sender_host").map_or(Json::Null, Json::from),
            );
            r.insert(
                "sender_port".into(),
                s("sender_port")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or(Json::Null, Json::from),
            );
            r.insert(
                "slot_name".into(),
                s("slot_name").map_or(Json::Null, Json::from),
            );
            r.insert(
                "conninfo".into(),
                s("wal_receiver_conninfo").map_or(Json::Null, Json::from),
            );
            Json::Object(r)
        }
    };
    f.insert("wal_receiver".into(), receiver);
    f
}

/// Facts for a server that does not answer.
pub(super) fn down_facts() -> Map<String, Json> {
    let mut f = Map::new();
    f.insert("running".into(), Json::Bool(false));
    for k in [
        "in_recovery",
        "replay_lag_seconds",
        "last_replay_timestamp",
        "timeline",
        "version",
        "wal_receiver",
    ] {
        f.insert(k.into(), Json::Null);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_connection_string() {
        let cases = [
            (
                "postgresql://app:S3cr%40t@db:5432/akira?sslmode=require",
                "postgresql://app@db:5432/akira?sslmode=require",
                Some("S3cr@t"),
            ),
            ("postgres://app@db/akira", "postgres://app@db/akira", None),
            (
                "host=db user=app password=S3cr3t dbname=akira",
                "host=db user=app dbname=akira",
                Some("S3cr3t"),
            ),
            (
                "host=db password = 'it\\'s \\\\quoted' port=5432",
                "host=db port=5432",
                Some("it's \\quoted"),
            ),
            ("host=db dbname=akira", "host=db dbname=akira", None),
        ];
        for (given, kept, password) in cases {
            let (k, p) = without_password(given);
            assert_eq!((k.as_str(), p.as_deref()), (kept, password), "{given}");
        }
    }

    #[test]
    fn csv_keeps_nulls_quotes_and_newlines_apart() {
        let csv = format!("a,b,c\n1,{NULL_MARK},\n\"x,\"\"y\"\"\nz\",t,f\n");
        let rows = parse_csv(&csv).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.columns, ["a", "b", "c"]);
        assert_eq!(
            Json::from(rows.rows),
            serde_json::json!([{"a": "1", "b": null, "c": ""}, {"a": "x,\"y\"\nz", "b": "t", "c": "f"}])
        );
        assert_eq!(parse_csv("").unwrap_or_default(), Rows::default());
    }

    #[test]
    fn sql_errors_keep_their_sqlstate() {
        let ran = Ran {
            rc: 1,
            stdout: String::new(),
            stderr: "psql:<stdin>:1: ERROR:  25006: cannot execute INSERT in a read-only transaction\nLOCATION:  x".into(),
        };
        match sql_error(&ran) {
            PgError::Sql { code, msg } => {
                assert_eq!(code.as_deref(), Some("25006"));
                assert_eq!(msg, "cannot execute INSERT in a read-only transaction");
            }
            other => panic!("{other}"),
        }
    }
}
