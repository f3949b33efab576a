//! Failures say why, in every output (terminal, `-v`, `--format json`, the journal, `dr
//! report`), with secrets masked; and `dr plan` sends no SQL the author did not declare
//! read-only (a real PostgreSQL server).

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use util::{Dr, write_tree};

const SECRET: &str = "Tr0ub4dor-from-vault";

/// A project with a vaulted secret, an inventory of one local host, and `p.yml`.
fn project(dir: &Path, playbook: &str) {
    write_tree(
        dir,
        &[
            (
                "inv.yml",
                "all:\n  hosts:\n    app-01:\n      ansible_connection: local\n",
            ),
            ("pw", "correct horse battery staple\n"),
            ("secrets.yml", &format!("db_password: {SECRET}\n")),
            ("p.yml", playbook),
        ],
    );
    util::vault_encrypt(dir, "secrets.yml");
}

fn dr(dir: &Path, args: &[&str]) -> util::Run {
    let mut all = args.to_vec();
    all.extend(["-i", "inv.yml", "--vault-password-file", "pw"]);
    Dr::new(dir, &all).env("DR_NO_PROGRESS", "1").run()
}

fn journals(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir.join(".dr/runs"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    all.sort();
    all
}

const FAILING_COMMAND: &str = r#"- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: migrate
      shell: |
        for i in $(seq 1 14); do echo "applied step $i"; done
        echo "FATAL: password {{ db_password }} rejected for role app" >&2
        exit 3
"#;

#[test]
fn a_failed_command_says_why_in_every_output_with_secrets_masked() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(d, FAILING_COMMAND);

    let text = dr(d, &["apply", "p.yml"]);
    text.code(1)
        .stdout_has("non-zero return code")
        .stdout_has("rc: 3")
        .stdout_has("cmd:\n        for i in $(seq 1 14); do")
        .stdout_has("stderr:\n        FATAL: password ")
        .stdout_has(" rejected for role app")
        .stdout_has("stdout (last 10 of 14 lines):\n        applied step 5\n")
        .stdout_has("        applied step 14\n")
        .stdout_lacks("applied step 4\n")
        .stdout_lacks(SECRET);

    let json = dr(d, &["apply", "p.yml", "--format", "json"]);
    json.code(1).stdout_lacks(SECRET);
    let doc = json.json();
    let task = &doc["nodes"][0]["tasks"][0];
    assert_eq!(task["status"], "failed", "{doc}");
    assert_eq!(task["result"]["rc"], 3, "{doc}");
    let stderr = task["result"]["stderr"].as_str().unwrap_or_default();
    assert!(
        stderr.starts_with("FATAL: password ") && stderr.ends_with(" rejected for role app"),
        "{doc}"
    );
    assert_eq!(
        task["result"]["stdout"].as_str().map(|s| s.lines().count()),
        Some(14),
        "the JSON result has the whole output: {doc}"
    );
    let msg = task["msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("non-zero return code\n") && msg.contains("\nrc: 3\n"),
        "{doc}"
    );

    let runs = journals(d);
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let journal = std::fs::read_to_string(run).expect("journal");
        assert!(!journal.contains(SECRET), "{journal}");
        let failed: Vec<Value> = journal
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"] == "task_end" && e["status"] == "failed")
            .collect();
        let msg = failed[0]["msg"].as_str().unwrap_or_default();
        assert!(
            msg.contains("rc: 3") && msg.contains(" rejected for role app"),
            "{journal}"
        );
    }

    let report = Dr::new(d, &["report"]).run();
    report
        .code(0)
        .stdout_has("### Failures")
        .stdout_has("  rc: 3\n")
        .stdout_has(" rejected for role app\n")
        .stdout_lacks(SECRET);
}

#[test]
fn failed_when_and_assert_show_the_condition_and_what_it_read() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(
        d,
        r#"- hosts: all
  gather_facts: false
  vars:
    x: 3
  tasks:
    - name: probe
      command: echo fw
      register: r
      failed_when: r.stdout == 'fw' and x > 2
      ignore_errors: true
    - name: enough replicas
      assert:
        that:
          - x == 3
          - x > 5
"#,
    );
    dr(d, &["apply", "p.yml"])
        .code(1)
        .stdout_has("the `failed_when` condition held\n")
        .stdout_has("failed_when: r.stdout == 'fw' and x > 2\n")
        .stdout_has("failed_when_result: true\n")
        .stdout_has("  r.stdout = \"fw\"\n")
        .stdout_has("  x = 3\n")
        .stdout_has("Assertion failed\n")
        .stdout_has("assertion: x > 5\n")
        .stdout_has("evaluated_to: false\n");
}

#[test]
fn verbose_shows_the_output_of_every_result() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(
        d,
        r#"- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: talk
      shell: "echo said-on-stdout {{ db_password }}; echo said-on-stderr >&2"
"#,
    );
    dr(d, &["apply", "p.yml"])
        .code(0)
        .stdout_lacks("said-on-stdout");
    dr(d, &["apply", "p.yml", "-v"])
        .code(0)
        .stdout_has("rc: 0\n")
        .stdout_has("stdout:\n        said-on-stdout ")
        .stdout_has("stderr:\n        said-on-stderr\n")
        .stdout_lacks(SECRET);
}

/// The registered result of a failure carries Ansible's fields with Ansible's values.
#[test]
fn registered_failures_have_ansibles_fields() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let playbook = r#"- hosts: all
  gather_facts: false
  vars:
    x: 3
  tasks:
    - command: sh -c "echo out; echo err >&2; exit 4"
      register: c
      ignore_errors: true
    - command: echo fw
      register: f
      failed_when: f.stdout == 'fw'
      ignore_errors: true
    - assert:
        that: [x == 3, x > 5]
      register: a
      ignore_errors: true
    - debug:
        msg: "{{ c.msg }}|{{ c.rc }}|{{ c.stdout }}|{{ c.stderr }}|{{ c.cmd }}|{{ f.failed_when_result }}|{{ f.rc }}|{{ a.msg }}|{{ a.assertion }}|{{ a.evaluated_to }}"
"#;
    project(d, playbook);
    let out = util::ansible("ansible-playbook")
        .args(["-i", "inv.yml", "p.yml"])
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .current_dir(d)
        .output()
        .expect("ansible-playbook runs");
    let ansible = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = |text: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("\"msg\": \"")
                    .and_then(|l| l.strip_suffix('"'))
                    .filter(|l| l.contains('|'))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no debug message in:\n{text}"))
    };
    let expected = line(&ansible);
    assert_eq!(
        expected,
        "non-zero return code|4|out|err|['sh', '-c', 'echo out; echo err >&2; exit 4']|True|0|Assertion failed|x > 5|False"
    );
    let dr_out = dr(d, &["apply", "p.yml"]);
    dr_out.code(0);
    let shown = dr_out
        .stdout
        .lines()
        .find_map(|l| {
            l.split_once("app-01  ")
                .map(|(_, m)| m.trim().to_owned())
                .filter(|m| l.trim_start().starts_with("msg") && m.contains('|'))
        })
        .unwrap_or_else(|| panic!("no debug message in:\n{}", dr_out.stdout));
    assert_eq!(shown, expected);
}

/// A throwaway PostgreSQL server owned by `postgres`, on a Unix socket in a temp dir.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--", &format!("{PG_BIN}/{program}")])
        .current_dir("/");
    c
}

fn ok(c: &mut Command) -> String {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{c:?}: {e} (PostgreSQL 15 must be installed)"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Postgres {
    fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("dr-pg-")
            .tempdir()
            .expect("tempdir");
        ok(Command::new("chown").arg("postgres:").arg(dir.path()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let data = dir.path().join("data");
        ok(as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        ok(as_postgres("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses='' -c fsync=off",
                dir.path().display()
            )));
        Postgres { dir, port }
    }

    fn sql(&self, sql: &str) -> String {
        ok(as_postgres("psql")
            .args(["-X", "-A", "-t", "-d", "postgres", "-h"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-c", sql]))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .output();
    }
}

#[test]
fn plan_sends_no_sql_the_author_did_not_declare_read_only() {
    util::assert_fresh_agent();
    let pg = Postgres::start();
    pg.sql("CREATE TABLE cdr (id int)");
    let proof = pg.dir.path().join("copy-ran");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let conn = format!(
        "host: {}\n        port: {}",
        pg.dir.path().display(),
        pg.port
    );
    project(
        d,
        &format!(
            r#"- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: export CDRs
      postgres_query:
        {conn}
        sql: "COPY (SELECT '{{{{ db_password }}}}' FROM cdr) TO PROGRAM 'touch {proof}'"
    - name: count CDRs
      postgres_query:
        {conn}
        sql: SELECT count(*) AS n FROM cdr
        read_only: true
      register: counted
    - debug:
        msg: "cdrs={{{{ counted.rows[0].n }}}}"
"#,
            proof = proof.display()
        ),
    );
    let plan = dr(d, &["plan", "p.yml"]);
    plan.code(2)
        .stdout_has("would run (not declared read-only")
        .stdout_has(": COPY (SELECT '")
        .stdout_has("cdrs=0")
        .stdout_lacks("No changes")
        .stdout_lacks(SECRET);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!proof.exists(), "dr plan ran the COPY:\n{}", plan.stdout);

    // `check_mode: false` on the task: the author asks for it to run, in a plan too.
    let playbook = std::fs::read_to_string(d.join("p.yml")).expect("playbook");
    let forced = playbook.replacen(
        "    - name: export CDRs\n",
        "    - name: export CDRs\n      check_mode: false\n",
        1,
    );
    std::fs::write(d.join("p.yml"), forced).expect("write playbook");
    dr(d, &["plan", "p.yml"]).code(0);
    assert!(proof.exists(), "`check_mode: false` did not run the COPY");
}
