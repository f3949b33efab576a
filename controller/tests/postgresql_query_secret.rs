//! `community.postgresql.postgresql_query` with a password from a vault, against a real
//! PostgreSQL that requires it (SCRAM over TCP): while `dr apply` runs the query, every
//! process's command line on the machine is sampled from /proc; the password must be in
//! none of them, and dr must start no `psql` for it (the agent's native client speaks the
//! protocol itself). Needs the PostgreSQL server programs (`apt-get install postgresql`):
//! without them the test fails, it does not skip.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use util::write_tree;

const SECRET: &str = "Vaulted-Pg-Pa55word";

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
struct Cluster {
    _root: tempfile::TempDir,
    data: PathBuf,
    sock: PathBuf,
    port: u16,
}

impl Cluster {
    /// `initdb`, a role `app` whose password is [`SECRET`] and which must give it over TCP.
    fn start() -> Cluster {
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
        let c = Cluster {
            _root: root,
            data,
            sock,
            port,
        };
        // The password goes to psql on stdin, never on its command line.
        c.psql_stdin(&format!("CREATE ROLE app LOGIN PASSWORD '{SECRET}';\n"));
        c
    }

    fn psql_stdin(&self, sql: &str) {
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

/// What the sampler saw: command lines holding the secret, and `psql` processes started by
/// `parent`.
#[derive(Debug, Default)]
struct Seen {
    leaks: Vec<String>,
    psql_children: Vec<String>,
    samples: usize,
    saw_parent: bool,
}

fn ppid(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces, so read after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1).map(str::to_owned)
}

fn sample(parent: u32, seen: &mut Seen) {
    seen.samples += 1;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if pid == parent.to_string() {
            seen.saw_parent = true;
        }
        if cmd.contains(SECRET) && !seen.leaks.contains(&cmd) {
            seen.leaks.push(cmd.clone());
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "psql" && ppid(&pid).as_deref() == Some(&parent.to_string()) {
            seen.psql_children.push(cmd);
        }
    }
}

#[test]
fn a_vaulted_password_is_on_no_command_line_and_no_psql_runs() {
    let c = Cluster::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path();
    write_tree(
        cwd,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    db-02:\n      ansible_connection: local\n",
            ),
            ("pw", "correct horse battery staple\n"),
            ("secrets.yml", &format!("db_password: {SECRET}\n")),
            (
                "p.yml",
                &format!(
                    r#"- name: query with a vaulted password
  hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: who am I
      community.postgresql.postgresql_query:
        login_host: 127.0.0.1
        port: {port}
        login_user: app
        login_password: "{{{{ db_password }}}}"
        db: postgres
        ssl_mode: disable
        query: SELECT current_user AS who, pg_sleep(2)::text AS slept
      register: r
    - name: show it
      debug:
        msg: "connected as {{{{ r.query_result[0].who }}}}"
"#,
                    port = c.port
                ),
            ),
        ],
    );
    util::vault_encrypt(cwd, "secrets.yml");
    let vaulted = std::fs::read_to_string(cwd.join("secrets.yml")).unwrap_or_default();
    assert!(
        !vaulted.contains(SECRET),
        "the vault file holds the plain password"
    );

    let child = Command::new(env!("CARGO_BIN_EXE_dr"))
        .args([
            "apply",
            "p.yml",
            "-i",
            "inv.yml",
            "--vault-password-file",
            "pw",
        ])
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("DR_VAULT_TEST_SCRYPT_WORK_FACTOR", "10")
        .env_remove("DR_VAULT_PASSWORD_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("dr: {e}"));
    let parent = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut seen = Seen::default();
            while !done.load(Ordering::SeqCst) {
                sample(parent, &mut seen);
                std::thread::sleep(Duration::from_millis(10));
            }
            seen
        })
    };
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("dr: {e}"));
    done.store(true, Ordering::SeqCst);
    let seen = sampler.join().unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dr apply failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("connected as app"), "{stdout}");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "dr printed the password:\n{stdout}\n{stderr}"
    );
    // The sampler watched the whole run (the query alone sleeps two seconds).
    assert!(seen.saw_parent && seen.samples > 20, "{seen:?}");
    assert_eq!(
        seen.leaks,
        Vec::<String>::new(),
        "a command line showed the password"
    );
    assert_eq!(seen.psql_children, Vec::<String>::new(), "dr ran psql");
}
