//! The connection options every `community.postgresql` module takes
//! (`postgres_common_argument_spec` in the collection's `module_utils/postgres.py`), read
//! into a [`ConnSpec`] for the agent's native client, and the collection's `check_input`.
//!
//! As `get_conn_params` does: an empty `login_host` means the local socket;
//! `login_unix_socket` is the socket directory when the host is empty or `localhost`; the
//! database defaults to the server's (the role's name); `ssl_mode` defaults to `prefer`.
//!
//! Peer authentication when the agent runs as root: a module run by Ansible as root with no
//! password connects over the socket as root's process, and a server whose `pg_hba.conf`
//! says `local all postgres peer` (Debian's default) refuses it; Ansible users write
//! `become_user: postgres` for that. dr does what works instead: with no `login_password`,
//! over a Unix socket, when an OS user named like `login_user` exists, the connection is
//! opened with that user's identity (only the connecting thread takes it, only for the
//! `connect(2)` call: see [`crate::pgclient`]). A password or a TCP host keeps root's identity.
//! A task's `become_user` is the socket's peer, as it is the module's user in Ansible.

use serde_json::{Map, Value as Json};

use super::accounts;
use super::hostcmd::is_root;
use super::{ArgsError, ModuleError};
use crate::pgclient::{ConnSpec, Password, SslMode};

/// The argument names (and aliases) of the common connection options.
pub(super) const LOGIN_ARGS: &[&str] = &[
    "login_user",
    "login",
    "login_password",
    "login_host",
    "host",
    "login_unix_socket",
    "unix_socket",
    "port",
    "login_port",
    "ssl_mode",
    "ca_cert",
    "ssl_rootcert",
];

/// The connection options of a task.
#[derive(Debug, Clone)]
pub(super) struct Login {
    spec: ConnSpec,
    /// `PGDATABASE` of the task's environment: the database when the task names none.
    env_db: Option<String>,
}

/// Takes the connection options out of `args` (so the module's own spec can refuse unknown
/// keys) and returns them with the rest. `env` is the task's `environment:`, whose
/// `PGPASSWORD`, `PGHOST` and `PGDATABASE` count where the task leaves the option empty, as
/// libpq reads them under psycopg2 (the collection always passes the port, the user and
/// `sslmode`, so `PGPORT`, `PGUSER` and `PGSSLMODE` never count). `~/.pgpass` is not read.
pub(super) fn split(
    module: &'static str,
    args: &Json,
    env: &[(String, String)],
    become_user: Option<&str>,
) -> Result<(Login, Json), ModuleError> {
    let from_env = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let mut rest = match args {
        Json::Object(m) => m.clone(),
        Json::Null => Map::new(),
        other => {
            return Err(ArgsError::new(
                module,
                format!("expected a mapping of arguments, found `{other}`"),
            )
            .into());
        }
    };
    let mut take = |names: &[&str]| -> Result<Option<String>, ModuleError> {
        let mut found = None;
        for n in names {
            if let Some(v) = rest.remove(*n) {
                if found.is_some() {
                    return Err(ArgsError::new(
                        module,
                        format!("`{}` is given twice (as `{n}`)", names[0]),
                    )
                    .into());
                }
                found = match v {
                    Json::Null => None,
                    Json::String(s) => Some(s),
                    Json::Number(n) => Some(n.to_string()),
                    v => {
                        return Err(ArgsError::new(
                            module,
                            format!("`{}`: expected a string, found `{v}`", names[0]),
                        )
                        .into());
                    }
                };
            }
        }
        Ok(found)
    };
    let user = take(&["login_user", "login"])?.unwrap_or_else(|| "postgres".into());
    let password = take(&["login_password"])?
        .filter(|p| !p.is_empty())
        .or_else(|| from_env("PGPASSWORD"));
    let host = take(&["login_host", "host"])?.filter(|h| !h.is_empty());
    let socket = take(&["login_unix_socket", "unix_socket"])?.filter(|s| !s.is_empty());
    let port = match take(&["port", "login_port"])? {
        None => 5432,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| ArgsError::new(module, format!("`port`: `{p}` is not a port number")))?,
    };
    let ssl_mode = match take(&["ssl_mode"])? {
        None => SslMode::Prefer,
        Some(m) => SslMode::parse(&m).ok_or_else(|| {
            ArgsError::new(
                module,
                format!(
                    "value of ssl_mode must be one of: allow, disable, prefer, require, verify-ca, verify-full, got: {m}"
                ),
            )
        })?,
    };
    let ca_cert = take(&["ca_cert", "ssl_rootcert"])?;

    let mut spec = ConnSpec::new(user);
    spec.host = match (host, socket) {
        (None, Some(s)) => Some(s),
        (Some(h), Some(s)) if h == "localhost" => Some(s),
        (None, None) => from_env("PGHOST"),
        (h, _) => h,
    };
    spec.port = port;
    spec.ssl_mode = ssl_mode;
    spec.ca_cert = ca_cert.map(Into::into);
    if is_root() && spec.socket_dir().is_some() {
        // `become_user: X` runs Ansible's module as X: the socket's peer is X. Without it,
        // the OS user named like the role, when no password is given (see above).
        let os_user = match become_user {
            Some(u) => Some(accounts::user_named(u).ok_or_else(|| {
                ModuleError::Failed(format!("become_user `{u}`: no such user on this host"))
            })?),
            None if password.is_none() => accounts::user_named(&spec.user),
            None => None,
        };
        spec.peer_as = os_user.filter(|u| u.uid != 0).map(|u| (u.uid, u.gid));
    }
    spec.password = password.map(Password::new);
    let env_db = from_env("PGDATABASE");
    Ok((Login { spec, env_db }, Json::Object(rest)))
}

impl Login {
    /// The connection to `db` (none: the server's default for the role).
    pub(super) fn conn(&self, db: Option<&str>) -> ConnSpec {
        let mut spec = self.spec.clone();
        spec.dbname = db
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .or_else(|| self.env_db.clone());
        spec
    }
}

/// A session on `db` as the task's login, switched to `session_role` when one is given, with
/// the collection's messages (`unable to connect to database: ...`, `Could not switch role`).
pub(super) fn open(
    login: &Login,
    db: Option<&str>,
    session_role: Option<&str>,
) -> Result<crate::pgclient::Session, ModuleError> {
    let mut session = crate::pgclient::connect(&login.conn(db))
        .map_err(|e| ModuleError::Failed(format!("unable to connect to database: {e}")))?;
    if let Some(role) = session_role.filter(|r| !r.is_empty()) {
        session
            .batch(&format!("SET ROLE \"{role}\""))
            .map_err(|e| ModuleError::Failed(format!("Could not switch role: {e}")))?;
    }
    Ok(session)
}

/// The collection's `check_input` (`module_utils/database.py`), for `trust_input: false`:
/// a quote followed by `--`, `UNION`/`INTERSECT`/`EXCEPT` followed by `SELECT`, or `;`
/// followed by a data or schema keyword make an input "potentially dangerous".
pub(super) fn check_input(values: &[&str]) -> Result<(), ModuleError> {
    static PATTERNS: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        let re = |p: &str| regex::Regex::new(p).unwrap_or_else(|e| panic!("bug: {e}"));
        [
            re(r#"('|").*--"#),
            re(r"(?i)(UNION|INTERSECT|EXCEPT).*SELECT"),
            re(r"(?i);.*(SELECT|UPDATE|INSERT|DELETE|DROP|TRUNCATE|ALTER)"),
        ]
    });
    let dangerous: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| patterns.iter().any(|p| p.is_match(v)))
        .collect();
    if dangerous.is_empty() {
        Ok(())
    } else {
        Err(ModuleError::Failed(format!(
            "Passed input '{}' is potentially dangerous",
            dangerous.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_map_as_get_conn_params_does() {
        let (l, rest) = split(
            "postgresql_ping",
            &json!({"login_host": "localhost", "login_unix_socket": "/run/pg", "port": "5433", "db": "x"}),
            &[], None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = l.conn(Some("x"));
        assert_eq!(c.host.as_deref(), Some("/run/pg"));
        assert_eq!(c.port, 5433);
        assert_eq!(c.user, "postgres");
        assert_eq!(rest, json!({"db": "x"}));
        let (l, _) = split(
            "m",
            &json!({"login_host": "db1", "login_password": "Debug-Hidden-Pw", "ssl_mode": "require"}),
            &[], None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = l.conn(None);
        assert_eq!(c.host.as_deref(), Some("db1"));
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert!(c.peer_as.is_none());
        assert!(c.password.is_some());
        assert!(!format!("{c:?} {l:?}").contains("Debug-Hidden"), "{c:?}");
        assert!(split("m", &json!({"ssl_mode": "sure"}), &[], None).is_err());
        // The task's environment, where the task leaves the option empty.
        let env = [
            ("PGPASSWORD".to_owned(), "from-env".to_owned()),
            ("PGHOST".to_owned(), "db9".to_owned()),
            ("PGDATABASE".to_owned(), "akira".to_owned()),
        ];
        let (l, _) = split("m", &json!({}), &env, None).unwrap_or_else(|e| panic!("{e}"));
        let c = l.conn(None);
        assert_eq!(
            (c.host.as_deref(), c.dbname.as_deref()),
            (Some("db9"), Some("akira"))
        );
        assert_eq!(c.password, Some(crate::pgclient::Password::new("from-env")));
        let (l, _) =
            split("m", &json!({"login_host": "db1"}), &env, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.conn(Some("x")).host.as_deref(), Some("db1"));
        assert_eq!(l.conn(Some("x")).dbname.as_deref(), Some("x"));
    }

    #[test]
    fn dangerous_input_as_the_collection_sees_it() {
        assert!(check_input(&["app"]).is_ok());
        assert!(check_input(&["x; DROP TABLE t"]).is_err());
        assert!(check_input(&["a' --"]).is_err());
    }
}
