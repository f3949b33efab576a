//! A throwaway PostgreSQL cluster for controller tests: `initdb` in a temp dir, a free port
//! on 127.0.0.1 and a socket directory, run as the `postgres` OS user when the tests run as
//! root. Without the server programs the test fails, it does not skip.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The password of the role `app` ([`Cluster::role_with_secret_password`]).
pub const SECRET: &str = "Vaulted-Pg-Pa55word";

/// The newest PostgreSQL bin directory under /usr/lib/postgresql.
fn pg_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, b)) => b,
        None => panic!(
            "this test needs the PostgreSQL server programs under /usr/lib/postgresql: `apt-get install postgresql`"
        ),
    }
}

/// A command run as the `postgres` OS user when the test runs as root (the server refuses
/// to run as root).
fn as_pg(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if rustix_is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    rustix_is_root()
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        .unwrap_or(false)
}

fn ok(cmd: &mut Command, what: &str) {
    let out = cmd
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A throwaway cluster; stopped when dropped.
pub struct Cluster {
    _root: tempfile::TempDir,
    data: PathBuf,
    /// The Unix socket directory.
    pub sock: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// `initdb` and start; the role `app` must log in with a password over TCP (SCRAM).
    pub fn start() -> Cluster {
        let bin = pg_bin();
        let root = tempfile::Builder::new()
            .prefix("dr-pg-secret-")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        if rustix_is_root() {
            ok(
                Command::new("chown").arg("postgres:").arg(root.path()),
                "chown",
            );
        }
        let (data, sock, port) = (
            root.path().join("data"),
            root.path().join("sock"),
            free_port(),
        );
        ok(as_pg("mkdir").arg(&sock), "mkdir");
        ok(
            as_pg(bin.join("initdb"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&data),
            "initdb",
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.push_str(&format!(
            "\nport = {port}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\nfsync = off\n",
            sock.display()
        ));
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
        let hba = data.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).unwrap_or_default();
        std::fs::write(
            &hba,
            format!("host all app 127.0.0.1/32 scram-sha-256\n{text}"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ok(
            as_pg(bin.join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(root.path().join("server.log")),
            "pg_ctl start",
        );
        Cluster {
            _root: root,
            data,
            sock,
            port,
        }
    }

    /// The role `app`, whose password is [`SECRET`] (given to psql on stdin, never on its
    /// command line).
    pub fn role_with_secret_password(&self) {
        self.psql_stdin(&format!("CREATE ROLE app LOGIN PASSWORD '{SECRET}';\n"));
    }

    /// The unaligned output of `sql` in database `postgres`.
    /// Puts `line` first in `pg_hba.conf` and reloads the server.
    pub fn hba_first(&self, line: &str) {
        let hba = self.data.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).unwrap_or_default();
        std::fs::write(&hba, format!("{line}\n{text}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(self.psql_out("SELECT pg_reload_conf()"), "t");
    }

    pub fn psql_out(&self, sql: &str) -> String {
        self.psql_out_db("postgres", sql)
    }

    /// The unaligned output of `sql` in `db`.
    pub fn psql_out_db(&self, db: &str, sql: &str) -> String {
        let out = as_pg(pg_bin().join("psql"))
            .current_dir("/")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-h"])
            .arg(&self.sock)
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs `sql` through psql's standard input on the socket.
    pub fn psql_stdin(&self, sql: &str) {
        use std::io::Write;
        let mut child = as_pg(pg_bin().join("psql"))
            .current_dir("/")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-h"])
            .arg(&self.sock)
            .args(["-p", &self.port.to_string(), "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .unwrap_or_else(|e| panic!("psql stdin: {e}"));
        }
        let status = child.wait().unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(status.success(), "psql failed on: {sql}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_pg(pg_bin().join("pg_ctl"))
            .current_dir("/")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data)
            .output();
    }
}
