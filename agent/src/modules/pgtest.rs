//! Test clusters: real PostgreSQL servers in temp dirs on free loopback ports, run as the
//! `postgres` OS user when the tests run as root. Missing binaries fail the test loudly:
//! CI must install `postgresql`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::hostcmd::{self, command_as, is_root};

/// The OS user clusters run as.
pub(crate) fn pg_user() -> Option<&'static str> {
    is_root().then_some("postgres")
}

/// The PostgreSQL bin directory, or a panic saying what to install.
pub(crate) fn bin() -> PathBuf {
    match super::pg::bin_dir(None, None, None) {
        Ok(b) => b,
        Err(e) => panic!(
            "these tests need a real PostgreSQL server ({e}); on Debian: `apt-get install postgresql`"
        ),
    }
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn run(cmd: &mut Command, what: &str) -> String {
    match hostcmd::run_ok(cmd.current_dir("/"), what) {
        Ok(r) => r.stdout,
        Err(e) => panic!("{e}"),
    }
}

/// A temp dir the cluster user owns.
pub(crate) fn owned_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dr-pg-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    if let Some(user) = pg_user() {
        run(
            Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path()),
            "chown",
        );
    }
    dir
}

/// One running (or stopped) test cluster. Stopped on drop.
pub(crate) struct Cluster {
    /// Holds the data dir, socket dir and log.
    pub root: tempfile::TempDir,
    /// The data directory.
    pub data: PathBuf,
    /// The Unix socket directory.
    pub sock: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// `initdb`, a replication role `replicator` with password `s3cret`, started.
    pub fn primary() -> Cluster {
        let bin = bin();
        let root = owned_tempdir();
        let data = root.path().join("data");
        let sock = root.path().join("sock");
        let c = Cluster {
            data,
            sock,
            port: free_port(),
            root,
        };
        c.as_pg("mkdir", &[c.sock.to_str().unwrap_or_default()]);
        run(
            command_as(pg_user(), bin.join("initdb"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&c.data),
            "initdb",
        );
        c.configure();
        let hba = c.data.join("pg_hba.conf");
        let mut text = std::fs::read_to_string(&hba).unwrap_or_default();
        text.insert_str(
            0,
            "host replication replicator 127.0.0.1/32 scram-sha-256\n",
        );
        std::fs::write(&hba, text).unwrap_or_else(|e| panic!("{e}"));
        c.start();
        c.sql("CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 's3cret'");
        c
    }

    /// A streaming standby of `primary`, made with `pg_basebackup -R`, started.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        let root = owned_tempdir();
        let c = Cluster {
            data: root.path().join("data"),
            sock: root.path().join("sock"),
            port: free_port(),
            root,
        };
        c.as_pg("mkdir", &[c.sock.to_str().unwrap_or_default()]);
        let mut cmd = command_as(pg_user(), bin().join("pg_basebackup"));
        cmd.env("PGPASSWORD", "s3cret")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "replicator",
                "-X",
                "stream",
                "-R",
                "-w",
            ])
            .args(["-p", &primary.port.to_string(), "-D"])
            .arg(&c.data);
        run(&mut cmd, "pg_basebackup");
        c.configure();
        c.start();
        c
    }

    /// Port, socket and quick-test settings, appended (the last setting wins).
    fn configure(&self) {
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
        text.push_str(&format!(
            "\nport = {}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\nfsync = off\nwal_receiver_status_interval = 1s\n",
            self.port,
            self.sock.display()
        ));
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn as_pg(&self, program: &str, args: &[&str]) -> String {
        run(command_as(pg_user(), program).args(args), program)
    }

    /// `pg_ctl start -w`.
    pub fn start(&self) {
        let log = self.root.path().join("server.log");
        run(
            command_as(pg_user(), bin().join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(&self.data)
                .arg("-l")
                .arg(&log),
            "pg_ctl start",
        );
    }

    /// `pg_ctl stop -m immediate` (the server dies as in a crash).
    pub fn kill(&self) {
        let _ = hostcmd::run(
            command_as(pg_user(), bin().join("pg_ctl"))
                .current_dir("/")
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(&self.data),
            "pg_ctl stop",
        );
    }

    /// Runs `sql` through the socket and returns psql's unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_db("postgres", sql)
    }

    /// [`Cluster::sql`] in database `db`.
    pub fn sql_db(&self, db: &str, sql: &str) -> String {
        let mut c = command_as(pg_user(), bin().join("psql"));
        c.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-h"])
            .arg(&self.sock)
            .args(["-p", &self.port.to_string(), "-c", sql]);
        run(&mut c, "psql").trim().to_owned()
    }

    /// `host`/`port` arguments reaching this cluster through its socket.
    pub fn conn_args(&self) -> serde_json::Value {
        serde_json::json!({"host": self.sock.display().to_string(), "port": self.port})
    }

    /// The data directory as a string.
    pub fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    /// Waits (up to 30 s) until `sql` returns `want`.
    pub fn wait_for(&self, sql: &str, want: &str) {
        for _ in 0..300 {
            if self.sql(sql) == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("`{sql}` never returned `{want}` on port {}", self.port);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if Path::new(&self.data).join("postmaster.pid").exists() {
            self.kill();
        }
    }
}
