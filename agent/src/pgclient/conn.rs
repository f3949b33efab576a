//! Connecting: where, as whom, with which TLS, and the [`Session`] that results.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::config::SslMode as WireSsl;
use postgres::{Client, Config, NoTls};

use super::error::ClientError;
use super::tls;

/// A password: kept out of `Debug` output and error messages, and given to the server only
/// inside the protocol (never on a command line, never in the environment of a child).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Password(String);

impl Password {
    /// Wraps a password.
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(********)")
    }
}

/// libpq's `sslmode` values, as the `community.postgresql` modules' `ssl_mode` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// Plain first; TLS when the server insists.
    Allow,
    /// TLS when the server offers it, without verifying its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS, unverified (verified against `ca_cert` when one is given, as libpq does).
    Require,
    /// TLS with the certificate chain verified against the root certificates.
    VerifyCa,
    /// TLS with the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// The mode called `s`, or `None`.
    pub(crate) fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// How to reach a server and log in.
#[derive(Debug, Clone)]
pub(crate) struct ConnSpec {
    /// A host name or address, or a Unix socket directory (an absolute path); none = the
    /// default socket directory.
    pub host: Option<String>,
    /// The port (also names the socket file `.s.PGSQL.<port>`).
    pub port: u16,
    /// The database role to log in as.
    pub user: String,
    /// Its password, if any.
    pub password: Option<Password>,
    /// The database (none = the role's name, as libpq does).
    pub dbname: Option<String>,
    /// TLS (ignored on a Unix socket, as libpq ignores it there).
    pub ssl_mode: SslMode,
    /// Root certificates (PEM) for verifying the server; `system` = the host's CA store.
    pub ca_cert: Option<PathBuf>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// Connect as this OS user (uid, gid) for peer authentication (see the module doc).
    pub peer_as: Option<(u32, u32)>,
}

/// Socket directories libpq builds use by default: Debian's first, then upstream's.
const SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

impl ConnSpec {
    /// A spec for `user` on the default socket and port 5432.
    pub(crate) fn new(user: impl Into<String>) -> Self {
        ConnSpec {
            host: None,
            port: 5432,
            user: user.into(),
            password: None,
            dbname: None,
            ssl_mode: SslMode::default(),
            ca_cert: None,
            connect_timeout: Duration::from_secs(10),
            peer_as: None,
        }
    }

    /// The socket directory this spec connects through, if it uses a Unix socket.
    pub(crate) fn socket_dir(&self) -> Option<PathBuf> {
        match &self.host {
            Some(h) if h.starts_with('/') => Some(PathBuf::from(h)),
            Some(_) => None,
            None => Some(
                SOCKET_DIRS
                    .iter()
                    .map(PathBuf::from)
                    .find(|d| d.join(format!(".s.PGSQL.{}", self.port)).exists())
                    .unwrap_or_else(|| PathBuf::from(SOCKET_DIRS[0])),
            ),
        }
    }

    /// `on socket "/dir/.s.PGSQL.5432"` or `at "host", port 5432`, as libpq names it.
    pub(crate) fn target(&self) -> String {
        match self.socket_dir() {
            Some(d) => format!(
                "on socket \"{}\"",
                d.join(format!(".s.PGSQL.{}", self.port)).display()
            ),
            None => format!(
                "at \"{}\", port {}",
                self.host.as_deref().unwrap_or_default(),
                self.port
            ),
        }
    }

    fn config(&self, wire: WireSsl) -> Config {
        let mut c = Config::new();
        c.user(&self.user)
            .port(self.port)
            .connect_timeout(self.connect_timeout)
            .application_name("dr")
            .ssl_mode(wire);
        match self.socket_dir() {
            Some(d) => c.host_path(d),
            None => c.host(self.host.as_deref().unwrap_or_default()),
        };
        if let Some(db) = &self.dbname {
            c.dbname(db);
        }
        if let Some(Password(pw)) = &self.password {
            c.password(pw.as_bytes());
        }
        c
    }
}

/// An open, authenticated connection.
pub(crate) struct Session {
    pub(super) client: Client,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session")
    }
}

/// Opens a session as `spec` says.
pub(crate) fn connect(spec: &ConnSpec) -> Result<Session, ClientError> {
    match spec.peer_as {
        Some((uid, gid)) if spec.socket_dir().is_some() => {
            std::thread::scope(|s| s.spawn(|| connect_as(spec, uid, gid)).join())
                .unwrap_or_else(|_| Err(ClientError::Connect("bug: connecting panicked".into())))
        }
        _ => connect_now(spec),
    }
}

/// Connects from this thread with `uid`/`gid` as its effective ids, then takes root's back.
fn connect_as(spec: &ConnSpec, uid: u32, gid: u32) -> Result<Session, ClientError> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_res_gid, set_thread_res_uid};
    let failed = |what: &str, e: rustix::io::Errno| {
        ClientError::Connect(format!("cannot {what} for peer authentication: {e}"))
    };
    set_thread_res_gid(None, Gid::from_raw(gid), None).map_err(|e| failed("take the gid", e))?;
    if let Err(e) = set_thread_res_uid(None, Uid::from_raw(uid), None) {
        let _ = set_thread_res_gid(None, Gid::ROOT, None);
        return Err(failed("take the uid", e));
    }
    let session = connect_now(spec);
    // This thread ends right after; dropping back to root still matters should it not.
    let back = set_thread_res_uid(None, Uid::ROOT, None)
        .and_then(|()| set_thread_res_gid(None, Gid::ROOT, None));
    back.map_err(|e| failed("return to root", e))?;
    session
}

fn connect_now(spec: &ConnSpec) -> Result<Session, ClientError> {
    let failed = |e: postgres::Error| ClientError::Connect(connect_message(spec, &e));
    if spec.socket_dir().is_some() {
        return Ok(Session {
            client: spec
                .config(WireSsl::Disable)
                .connect(NoTls)
                .map_err(failed)?,
        });
    }
    let ca = spec.ca_cert.as_deref();
    let client = match spec.ssl_mode {
        SslMode::Disable => spec.config(WireSsl::Disable).connect(NoTls),
        SslMode::Allow => match spec.config(WireSsl::Disable).connect(NoTls) {
            Ok(c) => Ok(c),
            Err(_) => spec
                .config(WireSsl::Require)
                .connect(tls::connector(tls::Verify::None, None)?),
        },
        SslMode::Prefer => spec
            .config(WireSsl::Prefer)
            .connect(tls::connector(tls::Verify::None, None)?),
        SslMode::Require => {
            let verify = if ca.is_some() {
                tls::Verify::Chain
            } else {
                tls::Verify::None
            };
            spec.config(WireSsl::Require)
                .connect(tls::connector(verify, ca)?)
        }
        SslMode::VerifyCa => spec
            .config(WireSsl::Require)
            .connect(tls::connector(tls::Verify::Chain, Some(root_cert(ca)?))?),
        SslMode::VerifyFull => spec
            .config(WireSsl::Require)
            .connect(tls::connector(tls::Verify::Full, Some(root_cert(ca)?))?),
    };
    Ok(Session {
        client: client.map_err(failed)?,
    })
}

/// `ca_cert`, else libpq's default `~/.postgresql/root.crt`, which must then exist.
fn root_cert(ca: Option<&Path>) -> Result<&Path, ClientError> {
    static DEFAULT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(ca) = ca {
        return Ok(ca);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    let path = DEFAULT.get_or_init(|| Path::new(&home).join(".postgresql/root.crt"));
    if path.exists() {
        Ok(path)
    } else {
        Err(ClientError::Tls(format!(
            "root certificate file \"{}\" does not exist; either provide the file (`ca_cert`), use the system's trusted roots with `ca_cert: system`, or change `ssl_mode` to disable server certificate verification",
            path.display()
        )))
    }
}

/// libpq's phrasing: `connection to server at "h", port 5432 failed: why`.
fn connect_message(spec: &ConnSpec, e: &postgres::Error) -> String {
    let why = match e.as_db_error() {
        Some(db) => format!("{}:  {}", db.severity(), db.message()),
        None => {
            let mut why = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let text = s.to_string();
                if !why.contains(&text) {
                    why = format!("{why}: {text}");
                }
                source = s.source();
            }
            why
        }
    };
    format!("connection to server {} failed: {why}", spec.target())
}
