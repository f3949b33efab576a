//! `community.postgresql.postgresql_query` with a password from a vault, against a real
//! PostgreSQL that requires it (SCRAM over TCP): while `dr apply` runs the query, every
//! process's command line on the machine is sampled from /proc; the password must be in
//! none of them, and dr must start no `psql` for it (the agent's native client speaks the
//! protocol itself). Needs the PostgreSQL server programs (`apt-get install postgresql`):
//! without them the test fails, it does not skip.

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use util::pg::{Cluster, SECRET};
use util::write_tree;

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
    c.role_with_secret_password();
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
