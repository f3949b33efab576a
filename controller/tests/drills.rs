//! The DR drills: the shipped playbooks against the real akira topology on Docker (real
//! sshd, PostgreSQL 15 streaming replication, a compose stack writing CDRs), run through
//! the real `dr` binary over SSH, as an SRE would run them.

mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dr_testbed::{Options, Testbed};
use util::{Dr, Run, copy_examples};

/// A test bed plus a project directory laid out as a user's checkout: the shipped
/// playbooks and vault, an inventory of the test bed's hosts, and a dr.toml.
struct Drill {
    tb: Testbed,
    dir: tempfile::TempDir,
}

impl Drill {
    fn up() -> Drill {
        util::assert_fresh_agent();
        let tb = Testbed::up(Options::default()).expect("the test bed comes up (needs docker)");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        copy_examples(root);
        let inv = root.join("inventory/testbed");
        std::fs::create_dir_all(inv.join("group_vars/all")).unwrap();
        tb.write_inventory(&inv.join("hosts.yml"))
            .expect("inventory");
        std::fs::copy(
            root.join("inventory/group_vars/all.yml"),
            inv.join("group_vars/all/main.yml"),
        )
        .unwrap();
        let known_hosts = root.join("known_hosts");
        tb.write_known_hosts(&known_hosts).expect("known_hosts");
        std::fs::write(
            inv.join("group_vars/all/testbed.yml"),
            format!(
                "# The test bed's specifics.\n\
                 ansible_ssh_private_key_file: {key}\n\
                 ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={kh}\"\n\
                 akira_compose_project: drtb-{run}-akira\n\
                 akira_app_image: {image}\n\
                 akira_network: {net}\n\
                 akira_labels:\n  dr.testbed.run: \"{run}\"\n  dr.testbed.host: akira-mgmt-01\n\
                 akira_backend_health_url: http://backend:8080/healthz\n",
                key = tb.private_key_path().display(),
                kh = known_hosts.display(),
                run = tb.run_id(),
                image = tb.images().app,
                net = tb.network(),
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("dr.toml"),
            "inventory = \"inventory/testbed\"\nvault_password_file = \"vault/example.password\"\nforks = 10\n",
        )
        .unwrap();
        Drill { tb, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn dr(&self, args: &[&str]) -> Run {
        Dr::new(self.path(), args).run()
    }

    fn count(&self, host: &str) -> i64 {
        self.tb
            .sql(host, "SELECT count(*) FROM cdr")
            .expect("count CDRs")
            .trim()
            .parse()
            .expect("a number")
    }

    fn max_id(&self, host: &str) -> i64 {
        self.tb
            .sql(host, "SELECT coalesce(max(id), 0) FROM cdr")
            .expect("max id")
            .trim()
            .parse()
            .expect("a number")
    }

    fn env_file(&self) -> String {
        self.tb
            .exec("akira-mgmt-01", &["cat", "/opt/akira/.env"])
            .expect("read .env")
    }

    /// Waits until `host`'s CDR count grows by `by` (a live app writing to it).
    fn wait_growth(&self, host: &str, by: i64) {
        let start = self.count(host);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.count(host) < start + by {
            assert!(Instant::now() < deadline, "CDRs do not grow on {host}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn latest_report(&self) -> serde_json::Value {
        self.dr(&["report", "--format", "json"]).code(0).json()
    }

    /// The latest report, checked: the run succeeded, RTO and RPO met, the RPO measured
    /// against `incident`; with the time the data was restored to.
    fn report_met(&self, incident: &str) -> (serde_json::Value, String) {
        let report = self.latest_report();
        assert_eq!(report["result"], "success");
        assert_eq!(report["rto_met"], true);
        assert_eq!(report["rpo_met"], true);
        assert_eq!(report["rpo_incident_time"], incident);
        let restored_to = report["rpo_restored_to"]
            .as_str()
            .expect("rpo_restored_to")
            .to_owned();
        (report, restored_to)
    }

    /// How many of the CDR ids up to `last` (the old primary's last row) `host` lacks: the
    /// rows a failover lost.
    fn rows_missing_up_to(&self, host: &str, last: i64) -> i64 {
        let have: i64 = self
            .tb
            .sql(
                host,
                &format!("SELECT count(*) FROM cdr WHERE id <= {last}"),
            )
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        last - have
    }

    fn journal_dir(&self) -> PathBuf {
        self.path().join(".dr/runs")
    }

    /// The events of the latest run's journal.
    fn latest_journal(&self) -> Vec<serde_json::Value> {
        let journal = std::fs::read_dir(self.journal_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .max()
            .unwrap();
        std::fs::read_to_string(&journal)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn secs(report: &serde_json::Value) -> f64 {
    report["elapsed_ms"].as_u64().expect("elapsed_ms") as f64 / 1000.0
}

#[test]
fn split_brain_guard_then_failover_then_rebuild_the_old_primary() {
    let d = Drill::up();
    d.wait_growth("akira-db-01", 5);
    let env_before = d.env_file();

    // Drill 2: the primary is alive: the failover refuses, and nothing changes anywhere.
    let refused = d.dr(&["apply", "playbooks/failover_postgres.yml"]);
    refused
        .code(1)
        .stdout_has("`akira-db-01` still answers on 5432: refusing to fail over while split brain is possible")
        // The check ran on the controller, for the new primary, and stopped its play.
        .stdout_has("akira-db-02 -> localhost")
        .stdout_has("skipped because every host of play `promote the replica` failed");
    assert_eq!(
        d.env_file(),
        env_before,
        "the refused failover changed .env"
    );
    assert_eq!(
        d.tb.sql("akira-db-02", "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "t",
        "db-02 was promoted"
    );

    // Drill 1: db-01 dies while cdr-worker writes. Fail over.
    let last_on_primary = d.max_id("akira-db-01");
    d.tb.kill("akira-db-01").expect("kill db-01");
    let killed_at = Instant::now();
    let failover = d.dr(&["apply", "playbooks/failover_postgres.yml"]);
    failover.code(0).stdout_lacks("akira-app-secret");
    let wall = killed_at.elapsed();
    assert_eq!(
        d.tb.sql("akira-db-02", "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "f",
        "db-02 is not primary"
    );
    let env = d.env_file();
    assert!(
        env.contains("DATABASE_URL=postgres://app:akira-app-secret@akira-db-02:5432/akira"),
        "{env}"
    );
    assert_eq!(
        env.replace("akira-db-02", "akira-db-01"),
        env_before,
        ".env changed beyond DATABASE_URL"
    );
    d.wait_growth("akira-db-02", 10);
    // The test bed's management host runs compose v2 (the `docker compose` plugin): it
    // recreated both services.
    let versions = compose_versions(&d);
    assert!(
        versions.len() == 3 && versions.iter().all(|v| v.starts_with("2.")),
        "compose v2 drove the stack: {versions:?}"
    );
    let report = d.latest_report();
    assert_eq!(report["result"], "success");
    assert_eq!(report["rto_met"], true);
    let rpo_rows = d.rows_missing_up_to("akira-db-02", last_on_primary);
    println!(
        "DRILL failover: RTO {:.1} s by the journal ({:.1} s from the kill), RPO {} CDR row(s) lost",
        secs(&report),
        wall.as_secs_f64(),
        rpo_rows.max(0)
    );
    let markdown = d.dr(&["report"]);
    markdown
        .code(0)
        .stdout_has("- Measured RTO: ")
        .stdout_has("(target 5m: ✅ met)")
        .stdout_has("`promote the replica` started on `akira-db-02`");

    // Drill 3: the old primary is replaced by a bare host; rebuild it as a replica of db-02.
    d.tb.replace_bare("akira-db-01").expect("replace db-01");
    let kh = d.path().join("known_hosts");
    d.tb.write_known_hosts(&kh)
        .expect("known_hosts with the new key");
    let rebuild = d.dr(&[
        "apply",
        "playbooks/rebuild_replica.yml",
        "--limit",
        "akira-db-01",
        "--yes",
    ]);
    rebuild.code(0);
    let streaming =
        d.tb.sql("akira-db-01", "SELECT pg_is_in_recovery()")
            .unwrap();
    assert_eq!(streaming.trim(), "t", "db-01 is not a replica");
    let before = d.count("akira-db-01");
    let deadline = Instant::now() + Duration::from_secs(60);
    while d.count("akira-db-01") < before + 5 {
        assert!(Instant::now() < deadline, "db-01 does not follow db-02");
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "DRILL rebuild replica: RTO {:.1} s by the journal",
        secs(&d.latest_report())
    );
    d.dr(&[
        "apply",
        "playbooks/rebuild_replica.yml",
        "--limit",
        "akira-db-01",
        "--yes",
    ])
    .code(0)
    .stdout_has("Applied: 0 change(s).");
    assert!(d.journal_dir().read_dir().unwrap().count() >= 4);
}

/// `-e` installing compose v1 on a bare management host instead of v2.
const COMPOSE_V1: &str = r#"{"management_packages": ["docker.io", "docker-compose=1.29.2-3"]}"#;

/// On the management host: the compose that answers there (`docker compose` v2, else
/// `docker-compose` v1), then the compose version that created each container of the
/// stack (its `com.docker.compose.version` label).
fn compose_versions(d: &Drill) -> Vec<String> {
    let out =
        d.tb.exec(
            "akira-mgmt-01",
            &[
                "sh",
                "-c",
                "cd /opt/akira && if docker compose version >/dev/null 2>&1; \
                 then c='docker compose'; else c=docker-compose; fi; \
                 $c version --short && $c ps -aq \
                 | xargs docker inspect --format '{{index .Config.Labels \"com.docker.compose.version\"}}'",
            ],
        )
        .expect("compose versions on mgmt");
    out.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn restore_a_bare_management_host_then_plan_during_an_incident() {
    let d = Drill::up();
    // Drill 4: mgmt replaced from scratch; its new host key is accepted explicitly.
    d.tb.replace_bare("akira-mgmt-01").expect("replace mgmt");
    let unknown = d.dr(&[
        "apply",
        "playbooks/restore_management.yml",
        "--limit",
        "management",
    ]);
    unknown
        .code(1)
        .stdout_has("host key of `akira-mgmt-01` has CHANGED");
    // As the message says: drop the old key, then accept the new one explicitly.
    let kh = d.path().join("known_hosts");
    let address = d.tb.host("akira-mgmt-01").unwrap().address.to_string();
    let removed = std::process::Command::new("ssh-keygen")
        .args(["-R", &address, "-f"])
        .arg(&kh)
        .output()
        .unwrap();
    assert!(
        removed.status.success(),
        "ssh-keygen -R: {}",
        String::from_utf8_lossy(&removed.stderr)
    );
    // The rebuilt host gets compose v1 (`docker-compose` 1.29, Debian bookworm's) where the
    // other drills run v2 (the test bed's mgmt image, and bare hosts by default): the
    // management stack is drilled with both.
    let restore = d.dr(&[
        "apply",
        "playbooks/restore_management.yml",
        "--limit",
        "management",
        "--accept-new-host-keys",
        "-e",
        COMPOSE_V1,
    ]);
    restore.code(0).stdout_lacks("akira-app-secret");
    d.wait_growth("akira-db-01", 10);
    assert_eq!(
        compose_versions(&d),
        ["1.29.2", "1.29.2", "1.29.2"],
        "compose v1 drove the rebuilt stack"
    );
    println!(
        "DRILL restore management: RTO {:.1} s by the journal",
        secs(&d.latest_report())
    );
    d.dr(&[
        "apply",
        "playbooks/restore_management.yml",
        "--limit",
        "management",
        "-e",
        COMPOSE_V1,
    ])
    .code(0)
    .stdout_has("Applied: 0 change(s).");

    // Drill 6: DATABASE_URL edited by hand during an incident. The plan shows exactly that,
    // masked, says what would restart, exits 2, and changes nothing.
    d.tb.exec(
        "akira-mgmt-01",
        &[
            "sed",
            "-i",
            "s/@akira-db-01:/@akira-db-09:/",
            "/opt/akira/.env",
        ],
    )
    .unwrap();
    let before = d.env_file();
    let plan = d.dr(&["plan", "playbooks/restore_management.yml"]);
    plan.code(2)
        .stdout_has("-DATABASE_URL=postgres://app:********@akira-db-09:5432/akira")
        .stdout_has("+DATABASE_URL=postgres://app:********@akira-db-01:5432/akira")
        .stdout_has("would recreate `backend`: env file `.env` changed")
        .stdout_has("would recreate `cdr-worker`: env file `.env` changed")
        .stdout_lacks("akira-app-secret");
    assert_eq!(d.env_file(), before, "plan changed the .env");
}

#[test]
fn full_region_rebuild_from_bare_hosts_in_stage_order() {
    let d = Drill::up();
    for host in [
        "akira-db-01",
        "akira-db-02",
        "akira-mgmt-01",
        "akira-sig-01",
    ] {
        d.tb.replace_bare(host).expect("replace host");
    }
    // The operator has checked the rebuilt hosts' new keys.
    d.tb.write_known_hosts(&d.path().join("known_hosts"))
        .expect("known_hosts");
    let site = d.dr(&["apply", "playbooks/site.yml", "--yes"]);
    site.code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_lacks("akira-replication-secret");
    d.wait_growth("akira-db-01", 10);
    assert_eq!(
        d.tb.sql("akira-db-02", "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "t",
        "db-02 is not a replica"
    );
    d.wait_growth("akira-db-02", 5);
    d.tb.exec("akira-sig-01", &["/etc/init.d/akira-sipd", "status"])
        .expect("signaling runs");

    // The journal shows every stage finished before the next began.
    let lines = d.latest_journal();
    let stage_of: std::collections::HashMap<u64, u64> =
        lines.iter().find(|l| l["event"] == "dag").unwrap()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["node"].as_u64().unwrap(), n["stage"].as_u64().unwrap()))
            .collect();
    let at = |l: &serde_json::Value| l["at"].as_str().unwrap().to_owned();
    let stages = stage_of.values().max().copied().unwrap();
    assert_eq!(
        stages, 4,
        "database primary, replica, management, signaling (the test bed has no separate stateful hosts)"
    );
    for s in 1..stages {
        let ended = lines
            .iter()
            .filter(|l| l["event"] == "node_end" && stage_of[&l["node"].as_u64().unwrap()] == s)
            .map(at)
            .max()
            .unwrap();
        let next = lines
            .iter()
            .filter(|l| {
                l["event"] == "node_start" && stage_of[&l["node"].as_u64().unwrap()] == s + 1
            })
            .map(at)
            .min()
            .unwrap();
        assert!(
            ended <= next,
            "stage {} began at {next} before stage {s} ended at {ended}",
            s + 1
        );
    }
    println!(
        "DRILL full region: RTO {:.1} s by the journal",
        secs(&d.latest_report())
    );

    // Converged: a plan changes nothing.
    d.dr(&["plan", "playbooks/site.yml"])
        .code(0)
        .stdout_has("No changes.");
}

/// UTC now as the runbook takes it (`2026-11-29T10:15:00.123Z`).
fn utc_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// Seconds since the epoch of an RFC 3339 time (`2026-11-29T10:15:00Z`).
fn epoch_secs(text: &str) -> f64 {
    let format = time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, &format)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time `{text}`: {e}"));
    at.unix_timestamp_nanos() as f64 / 1e9
}

#[test]
fn drill_database_lost_restore_from_dump() {
    let d = Drill::up();
    let backup = dr_testbed::topology::BACKUP_01;
    // No replica: it was lost earlier and never rebuilt.
    d.tb.kill("akira-db-02").expect("kill db-02");
    d.wait_growth("akira-db-01", 5);

    // The nightly dump, on the backup host.
    let before_dump = epoch_secs(&utc_now());
    d.dr(&["apply", "playbooks/backup_dump.yml"])
        .code(0)
        .stdout_lacks("akira-app-secret");
    let after_dump = epoch_secs(&utc_now());
    let dump =
        d.tb.exec(
            backup,
            &[
                "sh",
                "-c",
                "ls -1d /srv/backup/akira/*/akira.dump | tail -n 1",
            ],
        )
        .expect("the dump is on the backup host");
    // Read apart from the playbook: a COPY data line of `cdr` starts with the row's id.
    let dump_ids = |what: &str| -> i64 {
        d.tb.exec(
            backup,
            &[
                "sh",
                "-c",
                &format!(
                    "pg_restore --data-only --table=cdr --file=- {dump} | grep '^[0-9]' | cut -f1 | {what}"
                ),
            ],
        )
        .expect("read the dump's rows")
        .trim()
        .parse()
        .expect("a number")
    };
    let rows_in_dump = dump_ids("wc -l");
    let dump_max_id = dump_ids("sort -n | tail -n 1");
    assert!(rows_in_dump > 0, "the dump holds no CDRs");

    // Writes go on after the dump; then the primary is lost.
    d.wait_growth("akira-db-01", 20);
    let incident_time = utc_now();
    d.tb.kill("akira-db-01").expect("kill db-01");
    let killed_at = Instant::now();

    // A new server from bare in place of the lost replica's host; DATABASE_URL moves there.
    d.tb.replace_bare("akira-db-02").expect("replace db-02");
    // The operator has checked the new server's key (the lost primary has none to read).
    let kh = d.path().join("known_hosts");
    let address = format!("{} ", d.tb.host("akira-db-02").unwrap().address);
    let mut known: String = std::fs::read_to_string(&kh)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with(&address))
        .map(|l| format!("{l}\n"))
        .collect();
    known.push_str(&d.tb.known_hosts_line("akira-db-02").expect("the new key"));
    known.push('\n');
    std::fs::write(&kh, known).unwrap();
    let incident = format!("incident_time={incident_time}");
    let args = [
        "apply",
        "playbooks/restore_database_from_dump.yml",
        "-e",
        "restore_to=akira-db-02",
        "-e",
        &incident,
        "--yes",
    ];
    d.dr(&args)
        .code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_has("recovery point");
    let wall = killed_at.elapsed();

    // The outcome in the database: every row of the dump, and the app writing again.
    assert_eq!(
        d.tb.sql(
            "akira-db-02",
            &format!("SELECT count(*) FROM cdr WHERE id <= {dump_max_id}")
        )
        .unwrap()
        .trim(),
        rows_in_dump.to_string(),
        "the new server holds every row of the dump"
    );
    let env = d.env_file();
    assert!(
        env.contains("DATABASE_URL=postgres://app:akira-app-secret@akira-db-02:5432/akira"),
        "{env}"
    );
    assert!(env.contains("AKIRA_MAINTENANCE=off"), "{env}");
    let health = d.tb.backend_health().expect("GET /healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    assert!(
        health.body.contains("\"host\": \"akira-db-02\""),
        "{}",
        health.body
    );
    let page = dr_testbed::http::get(d.tb.backend_addr().expect("backend"), "/").expect("GET /");
    assert_eq!(page.status, 200, "{}", page.body);
    d.wait_growth("akira-db-02", 5);

    // The journal: users saw the maintenance page while the writers were stopped.
    let lines = d.latest_journal();
    let status_of = |task: &str| {
        lines
            .iter()
            .find(|l| l["event"] == "task_end" && l["task"] == task)
            .map(|l| l["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no task `{task}` in the journal"))
    };
    assert_eq!(status_of("users get the maintenance page (503)"), "ok");
    assert_eq!(status_of("writers are stopped"), "changed");
    assert_eq!(
        status_of(
            "the dump restored into the new server (one transaction, into an empty database)"
        ),
        "changed"
    );

    // RTO and RPO by the journal; the RPO's two ends are the dump's time and the incident.
    // Only secrets are masked: a `no_log` task's counts (role creation on the new server)
    // leave host names and times readable.
    for l in &lines {
        assert!(
            !l["host"].as_str().unwrap_or_default().contains('*'),
            "masked host name in the journal: {l}"
        );
    }
    let (report, restored_to) = d.report_met(&incident_time);
    let dumped = epoch_secs(&restored_to);
    assert!(
        dumped >= before_dump.floor() - 1.0 && dumped <= after_dump,
        "the dump's time {restored_to} is outside the backup run"
    );
    let rpo = report["rpo_secs"].as_f64().expect("rpo_secs");
    assert!(
        (rpo - (epoch_secs(&incident_time) - dumped)).abs() < 0.01,
        "rpo {rpo}"
    );
    d.dr(&["report"])
        .code(0)
        .stdout_has("- Measured RPO: ")
        .stdout_has("target 24h: ✅ met")
        .stdout_has("(target 30m: ✅ met)");

    // A second apply changes nothing: the new server holds CDRs, so nothing is restored.
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");

    // The measured loss: the lost primary's disk, looked at afterwards, holds the rows
    // written after the dump, and those are exactly what the new server lacks.
    d.tb.start("akira-db-01")
        .expect("start the old primary's disk");
    d.tb.wait_postgres("akira-db-01", false)
        .expect("old primary");
    let on_old = d.count("akira-db-01");
    let lost: i64 =
        d.tb.sql(
            "akira-db-01",
            &format!("SELECT count(*) FROM cdr WHERE id > {dump_max_id}"),
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        on_old - rows_in_dump,
        lost,
        "rows lost = rows written after the dump"
    );
    assert!(
        lost >= 20,
        "the drill wrote 20 rows after the dump, {lost} lost"
    );
    println!(
        "DRILL database lost, restore from dump: RTO {:.1} s by the journal ({:.1} s from the kill), \
         RPO {rpo:.1} s by the journal (dump {restored_to}, incident {incident_time}), \
         {lost} CDR row(s) lost of {on_old}, {rows_in_dump} restored",
        secs(&report),
        wall.as_secs_f64(),
    );
}

/// One row of PgBouncer's admin console (`SHOW DATABASES`, `SHOW SERVERS`), read on the
/// PgBouncer host with psql as the stats user: each row's columns.
fn pgbouncer_console(d: &Drill, host: &str, show: &str) -> Vec<Vec<String>> {
    use dr_testbed::topology::{PGBOUNCER_PORT, db};
    let out =
        d.tb.exec(
            host,
            &[
                "env",
                &format!("PGPASSWORD={}", db::APP_PASSWORD),
                "psql",
                "-X",
                "-qAt",
                &format!(
                    "host=127.0.0.1 port={PGBOUNCER_PORT} dbname=pgbouncer user={}",
                    db::APP_USER
                ),
                "-c",
                show,
            ],
        )
        .unwrap_or_else(|e| panic!("{show} on PgBouncer's admin console: {e}"));
    out.lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

/// PgBouncer's server connections for `akira`, by address (`SHOW SERVERS`), once one
/// goes to `address` and none elsewhere (new ones are made as the apps ask).
fn wait_pgbouncer_servers_at(d: &Drill, host: &str, address: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let addrs: Vec<String> = pgbouncer_console(d, host, "SHOW SERVERS")
            .into_iter()
            .filter(|r| r.get(2).map(String::as_str) == Some("akira"))
            .map(|r| r[4].clone())
            .collect();
        if !addrs.is_empty() && addrs.iter().all(|a| a == address) {
            return addrs;
        }
        assert!(
            Instant::now() < deadline,
            "PgBouncer's servers are {addrs:?}, not only {address}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn drill_pgbouncer_failover() {
    let started = Instant::now();
    let d = Drill::up();
    // PgBouncer beside the apps on the management host, from the mirror, by its role.
    let bouncer = dr_testbed::topology::MGMT_01;
    std::fs::write(
        d.path().join("inventory/testbed/pgbouncer.yml"),
        format!(
            "# PgBouncer in front of the primary, beside the apps.\n\
             all:\n  children:\n    {}:\n      hosts:\n        {bouncer}:\n",
            dr_testbed::topology::PGBOUNCER_GROUP
        ),
    )
    .unwrap();
    d.dr(&["apply", "playbooks/pgbouncer.yml"])
        .code(0)
        .stdout_lacks("akira-app-secret");
    let via_bouncer = format!(
        "DATABASE_URL=postgres://app:akira-app-secret@{bouncer}:{}/akira",
        dr_testbed::topology::PGBOUNCER_PORT
    );
    let env_before = d.env_file();
    assert!(env_before.contains(&via_bouncer), "{env_before}");
    d.wait_growth("akira-db-01", 5);
    let db01 = d.tb.host("akira-db-01").unwrap().address.to_string();
    let db02 = d.tb.host("akira-db-02").unwrap().address.to_string();
    wait_pgbouncer_servers_at(&d, bouncer, &db01);
    d.dr(&["apply", "playbooks/pgbouncer.yml"])
        .code(0)
        .stdout_has("Applied: 0 change(s).");

    // db-01 dies while cdr-worker writes through PgBouncer. Fail over.
    let last_on_primary = d.max_id("akira-db-01");
    d.tb.kill("akira-db-01").expect("kill db-01");
    let killed_at = Instant::now();
    let incident_time = utc_now();
    let incident = format!("incident_time={incident_time}");
    // The plan shows PgBouncer's [databases] line moving, the apps' .env staying, and
    // changes nothing.
    d.dr(&["plan", "playbooks/failover_postgres.yml", "-e", &incident])
        .code(2)
        .stdout_has("-akira = host=akira-db-01 port=5432 dbname=akira")
        .stdout_has("+akira = host=akira-db-02 port=5432 dbname=akira")
        .stdout_lacks("DATABASE_URL=")
        .stdout_lacks("akira-app-secret");
    let planned = pgbouncer_console(&d, bouncer, "SHOW DATABASES");
    assert!(
        planned
            .iter()
            .any(|r| r[0] == "akira" && r[1] == "akira-db-01"),
        "the plan moved PgBouncer: {planned:?}"
    );
    let args = ["apply", "playbooks/failover_postgres.yml", "-e", &incident];
    d.dr(&args)
        .code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_has("point PgBouncer at the new primary");
    let wall = killed_at.elapsed();

    // The outcome in the database and in PgBouncer.
    assert_eq!(
        d.tb.sql("akira-db-02", "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "f",
        "db-02 is not primary"
    );
    let databases = pgbouncer_console(&d, bouncer, "SHOW DATABASES");
    let akira = databases
        .iter()
        .find(|r| r[0] == "akira")
        .unwrap_or_else(|| panic!("no `akira` in SHOW DATABASES: {databases:?}"));
    assert_eq!(akira[1], "akira-db-02", "SHOW DATABASES: {akira:?}");
    let servers = wait_pgbouncer_servers_at(&d, bouncer, &db02);
    d.wait_growth("akira-db-02", 10);
    assert_eq!(
        d.env_file(),
        env_before,
        "the failover changed the apps' .env"
    );
    let health = d.tb.backend_health().expect("GET /healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    assert!(
        health.body.contains(&format!("\"address\": \"{db02}\"")),
        "{}",
        health.body
    );

    // RTO and RPO by the journal; the RPO also in rows, as the database tells it.
    let report = d.latest_report();
    assert_eq!(report["result"], "success");
    assert_eq!(report["rto_met"], true);
    assert_eq!(report["rpo_incident_time"], incident_time.as_str());
    let rpo = report["rpo_secs"].as_f64().expect("rpo_secs");
    let replayed = report["rpo_restored_to"].as_str().expect("rpo_restored_to");
    assert!((0.0..60.0).contains(&rpo), "rpo {rpo}");
    let rpo_rows = d.rows_missing_up_to("akira-db-02", last_on_primary);
    d.dr(&["report"])
        .code(0)
        .stdout_has("- Measured RPO: ")
        .stdout_has("(target 5m: ✅ met)");

    // A second apply changes nothing: promoted already, PgBouncer points there already.
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");
    println!(
        "DRILL pgbouncer failover: RTO {:.1} s by the journal ({:.1} s from the kill, plan included), \
         RPO {rpo:.3} s by the journal (last replayed {replayed}, incident {incident_time}), \
         {} CDR row(s) lost; PgBouncer's servers {servers:?}; drill wall time {:.0} s",
        secs(&report),
        wall.as_secs_f64(),
        rpo_rows.max(0),
        started.elapsed().as_secs_f64()
    );
}

/// Rows of `cdr` on `host` committed at or before `at`: what a point-in-time restore to
/// `at` must hold. Rows committed before commit times were tracked count as before.
fn rows_committed_by(d: &Drill, host: &str, at: &str) -> i64 {
    d.tb.sql(
        host,
        &format!(
            "SELECT count(*) FROM cdr \
             WHERE coalesce(pg_xact_commit_timestamp(xmin), '-infinity') <= '{at}'"
        ),
    )
    .expect("count committed rows")
    .trim()
    .parse()
    .expect("a number")
}

/// The live primary's identity: system identifier and postmaster start time.
fn pg_identity(d: &Drill, host: &str) -> String {
    d.tb.sql(
        host,
        "SELECT system_identifier, pg_postmaster_start_time(), pg_is_in_recovery() \
         FROM pg_control_system()",
    )
    .expect("the primary's identity")
}

/// pgBackRest configured by `backup_configure.yml` (applied twice: the second changes
/// nothing); returns the first apply's wall time.
fn configure_pgbackrest(d: &Drill) -> Duration {
    let started = Instant::now();
    d.dr(&["apply", "playbooks/backup_configure.yml"])
        .code(0)
        .stdout_lacks("akira-app-secret");
    let took = started.elapsed();
    d.dr(&["apply", "playbooks/backup_configure.yml"])
        .code(0)
        .stdout_has("Applied: 0 change(s).");
    d.dr(&["plan", "playbooks/backup_configure.yml"])
        .code(0)
        .stdout_has("No changes.");
    took
}

#[test]
fn drill_restore_test() {
    let d = Drill::up();
    let primary = dr_testbed::topology::DB_01;
    let backup = dr_testbed::topology::BACKUP_01;
    let configure = configure_pgbackrest(&d);

    // Rows written, the target time noted, more rows written after it.
    d.wait_growth(primary, 20);
    let target = utc_now();
    d.wait_growth(primary, 20);
    let live_before = pg_identity(&d, primary);
    let count_before = d.count(primary);

    let target_arg = format!("target_time={target}");
    let started = Instant::now();
    let run = d.dr(&["apply", "playbooks/restore_test.yml", "-e", &target_arg]);
    let wall = started.elapsed();
    run.code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_has("recovery point");

    // The sandbox holds exactly the rows committed by the target, counted on the primary.
    let expected = rows_committed_by(&d, primary, &target);
    let after_target = d.count(primary) - expected;
    assert!(
        expected > 0 && after_target >= 20,
        "{expected} / {after_target}"
    );
    run.stdout_has(&format!("the sandbox holds {expected} CDR row(s)"));

    // The live primary untouched: same cluster, not restarted, still primary, growing.
    assert_eq!(
        pg_identity(&d, primary),
        live_before,
        "the live primary changed"
    );
    assert!(d.count(primary) >= count_before);
    d.wait_growth(primary, 5);
    // The sandbox is gone.
    d.tb.exec(
        backup,
        &["sh", "-c", "! test -e /var/lib/postgresql/restore-test"],
    )
    .expect("the sandbox is removed");

    // RPO by the journal: the last transaction replayed, just before the target.
    let (report, restored_to) = d.report_met(&target);
    let rpo = report["rpo_secs"].as_f64().expect("rpo_secs");
    assert!(
        (0.0..5.0).contains(&rpo),
        "rpo {rpo}: restored to {restored_to}, target {target}"
    );
    println!(
        "DRILL restore test: RTO {:.1} s by the journal ({:.1} s wall), RPO {rpo:.3} s by the \
         journal (target {target}, last transaction replayed {restored_to}), {expected} CDR \
         row(s) in the sandbox = rows committed by the target on the primary ({after_target} \
         written after it not restored); backup_configure.yml {:.1} s",
        secs(&report),
        wall.as_secs_f64(),
        configure.as_secs_f64(),
    );
}

/// One number from SQL run on `host`.
fn sql_number(d: &Drill, host: &str, query: &str) -> i64 {
    d.tb.sql(host, query)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{query}: not a number: {e}"))
}

#[test]
fn drill_accidental_delete() {
    let d = Drill::up();
    let primary = dr_testbed::topology::DB_01;
    configure_pgbackrest(&d);

    // CDRs written; the target time (just before the incident) noted; writes go on.
    d.wait_growth(primary, 20);
    let target = utc_now();
    d.wait_growth(primary, 5);
    let by_target = rows_committed_by(&d, primary, &target);
    let last_id = sql_number(
        &d,
        primary,
        &format!(
            "SELECT max(id) FROM cdr \
             WHERE coalesce(pg_xact_commit_timestamp(xmin), '-infinity') <= '{target}'"
        ),
    );
    let even = format!("SELECT count(*) FROM cdr WHERE id % 2 = 0 AND id <= {last_id}");
    let even_by_target = sql_number(&d, primary, &even);

    // The incident: half the CDRs deleted; the worker keeps writing until isolated.
    let incident_time = utc_now();
    let deleted = sql_number(
        &d,
        primary,
        "WITH d AS (DELETE FROM cdr WHERE id % 2 = 0 RETURNING 1) SELECT count(*) FROM d",
    );
    assert!(deleted > 0);
    d.wait_growth(primary, 10);
    let after_target_seen = sql_number(
        &d,
        primary,
        &format!("SELECT count(*) FROM cdr WHERE id > {last_id}"),
    );

    let target_arg = format!("target_time={target}");
    let incident_arg = format!("incident_time={incident_time}");
    let args = [
        "apply",
        "playbooks/recover_accidental_delete.yml",
        "-e",
        &target_arg,
        "-e",
        &incident_arg,
        "--yes",
    ];
    // The plan first: it shows the restore and changes nothing (the worker still writes).
    d.dr(&[
        "plan",
        "playbooks/recover_accidental_delete.yml",
        "-e",
        &target_arg,
        "-e",
        &incident_arg,
    ])
    .code(2)
    .stdout_lacks("akira-app-secret");
    d.wait_growth(primary, 5);
    let started = Instant::now();
    d.dr(&args)
        .code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_has("recovery point");
    let wall = started.elapsed();

    // In the database: every row committed by the target is back, the deleted ones too.
    assert_eq!(
        sql_number(
            &d,
            primary,
            &format!("SELECT count(*) FROM cdr WHERE id <= {last_id}")
        ),
        by_target,
        "the primary holds every row committed by the target"
    );
    assert_eq!(
        sql_number(&d, primary, &even),
        even_by_target,
        "the deleted rows are back"
    );
    assert_eq!(
        d.tb.sql(primary, "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "f"
    );
    d.wait_growth(primary, 5);

    // Rows lost, as the recovery measured them: committed after the target (kept in the
    // preserved backup); at least those the drill saw before the recovery began.
    let lines = d.latest_journal();
    let lost: i64 = lines
        .iter()
        .filter_map(|l| {
            let text = l["msg"].as_str().or(l["text"].as_str())?;
            let (head, _) = text.split_once(" row(s) committed after the target lost")?;
            head.rsplit(' ').next()?.parse().ok()
        })
        .next()
        .expect("the recovery reports the rows lost");
    assert!(
        lost >= after_target_seen,
        "{lost} row(s) lost, {after_target_seen} written after the target before the recovery"
    );
    let status_of = |task: &str| {
        lines
            .iter()
            .find(|l| l["event"] == "task_end" && l["task"] == task)
            .map(|l| l["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no task `{task}` in the journal"))
    };
    assert_eq!(status_of("writers are stopped"), "changed");
    assert_eq!(
        status_of("a full backup of the damaged state (kept for forensics)"),
        "changed"
    );

    // RPO by the journal: the last transaction replayed against the incident.
    let (report, restored_to) = d.report_met(&incident_time);
    let rpo = report["rpo_secs"].as_f64().expect("rpo_secs");
    let window = epoch_secs(&incident_time) - epoch_secs(&target);
    assert!(
        rpo >= window - 0.001 && rpo < window + 5.0,
        "rpo {rpo}: restored to {restored_to}, target {target}, incident {incident_time}"
    );

    // A second apply with the same target changes nothing.
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");

    // The replica is left on the old history: rebuilt from the restored primary.
    let replica = dr_testbed::topology::DB_02;
    let started = Instant::now();
    d.dr(&[
        "apply",
        "playbooks/rebuild_replica.yml",
        "-e",
        "rebuild=akira-db-02",
        "-e",
        "source=akira-db-01",
        "--yes",
    ])
    .code(0);
    let rebuilt = started.elapsed();
    assert_eq!(
        d.tb.sql(replica, "SELECT pg_is_in_recovery()")
            .unwrap()
            .trim(),
        "t"
    );
    d.wait_growth(replica, 5);
    assert_eq!(
        sql_number(&d, replica, &even),
        even_by_target,
        "the replica has the rows back"
    );
    println!(
        "DRILL accidental delete: RTO {:.1} s by the journal ({:.1} s wall), RPO {rpo:.3} s by \
         the journal (restored to {restored_to}, target {target}, incident {incident_time}); \
         {deleted} row(s) deleted, all {even_by_target} of them committed by the target back; \
         {by_target} row(s) restored; {lost} row(s) committed after the target lost (in the \
         preserved backup); replica rebuilt in {:.1} s",
        secs(&report),
        wall.as_secs_f64(),
        rebuilt.as_secs_f64(),
    );
}

/// The operator has checked `host`'s new key (it was replaced by a bare host).
fn accept_new_host_key(d: &Drill, host: &str) {
    let kh = d.path().join("known_hosts");
    let address = format!("{} ", d.tb.host(host).unwrap().address);
    let mut known: String = std::fs::read_to_string(&kh)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with(&address))
        .map(|l| format!("{l}\n"))
        .collect();
    known.push_str(&d.tb.known_hosts_line(host).expect("the new key"));
    known.push('\n');
    std::fs::write(&kh, known).unwrap();
}

#[test]
fn drill_pitr_to_new_server() {
    let d = Drill::up();
    let primary = dr_testbed::topology::DB_01;
    let new_server = dr_testbed::topology::DB_02;
    configure_pgbackrest(&d);

    // CDRs written; the target noted; then the loss: the even CDRs deleted.
    d.wait_growth(primary, 20);
    let target = utc_now();
    d.wait_growth(primary, 5);
    let last_id = sql_number(
        &d,
        primary,
        &format!(
            "SELECT max(id) FROM cdr \
             WHERE coalesce(pg_xact_commit_timestamp(xmin), '-infinity') <= '{target}'"
        ),
    );
    let by_target = rows_committed_by(&d, primary, &target);
    let even = format!("SELECT count(*) FROM cdr WHERE id % 2 = 0 AND id <= {last_id}");
    let even_by_target = sql_number(&d, primary, &even);
    let incident_time = utc_now();
    sql_number(
        &d,
        primary,
        "WITH d AS (DELETE FROM cdr WHERE id % 2 = 0 RETURNING 1) SELECT count(*) FROM d",
    );
    d.wait_growth(primary, 10);
    let live_before = pg_identity(&d, primary);

    // A new server beside the live one: db-02's host, replaced by a bare one.
    d.tb.replace_bare(new_server).expect("replace db-02");
    accept_new_host_key(&d, new_server);
    let target_arg = format!("target_time={target}");
    let incident_arg = format!("incident_time={incident_time}");
    let args = [
        "apply",
        "playbooks/pitr_to_new_server.yml",
        "-e",
        "new_server=akira-db-02",
        "-e",
        &target_arg,
        "-e",
        &incident_arg,
        "-e",
        "copy_rows_where=id%2=0",
        "--yes",
    ];
    let started = Instant::now();
    d.dr(&args)
        .code(0)
        .stdout_lacks("akira-app-secret")
        .stdout_has("recovery point")
        .stdout_has(&format!("copied back: INSERT 0 {even_by_target} "));
    let wall = started.elapsed();

    // In the databases: the new server holds exactly the rows committed by the target; the
    // live primary has its deleted rows back, was never restarted, and keeps growing.
    assert_eq!(
        sql_number(&d, new_server, "SELECT count(*) FROM cdr"),
        by_target,
        "the new server holds the rows committed by the target"
    );
    assert_eq!(
        sql_number(&d, primary, &even),
        even_by_target,
        "the deleted rows are back on the live primary"
    );
    assert_eq!(
        pg_identity(&d, primary),
        live_before,
        "the live primary was touched"
    );
    d.wait_growth(primary, 5);

    let report = d.latest_report();
    assert_eq!(report["result"], "success");
    assert_eq!(report["rpo_met"], true);
    assert_eq!(report["rpo_incident_time"], incident_time.as_str());
    let rpo = report["rpo_secs"].as_f64().expect("rpo_secs");
    let restored_to = report["rpo_restored_to"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(rpo > 0.0 && rpo < 30.0, "rpo {rpo}");

    // A second apply changes nothing: the new server holds CDRs, no row is missing.
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");
    println!(
        "DRILL PITR to a new server: RTO {:.1} s by the journal ({:.1} s wall, pgBackRest set up \
         on the bare server included), RPO {rpo:.3} s by the journal (restored to {restored_to}, \
         target {target}, incident {incident_time}); {by_target} row(s) on the new server, \
         {even_by_target} deleted row(s) copied back into the live primary, never restarted",
        secs(&report),
        wall.as_secs_f64(),
    );
}

/// The pg_auto_failover monitor's data directory (`pgaf_monitor_dir`).
const PGAF_MONITOR_DIR: &str = "/var/lib/postgresql/pgaf/monitor";
/// A formation node's data directory (`pgaf_node_dir`).
const PGAF_NODE_DIR: &str = "/var/lib/postgresql/pgaf/node";

/// `pg_autoctl show state --json` on the monitor: (node name, current, assigned state).
fn pgaf_state(d: &Drill) -> Vec<(String, String, String)> {
    let out =
        d.tb.exec(
            dr_testbed::topology::BACKUP_01,
            &[
                "runuser",
                "-u",
                "postgres",
                "--",
                "pg_autoctl",
                "show",
                "state",
                "--pgdata",
                PGAF_MONITOR_DIR,
                "--json",
            ],
        )
        .expect("pg_autoctl show state on the monitor");
    let nodes: Vec<serde_json::Value> = serde_json::from_str(&out).expect("the state in JSON");
    nodes
        .iter()
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (
                s("nodename"),
                s("current_group_state"),
                s("assigned_group_state"),
            )
        })
        .collect()
}

/// `pg_autoctl ARGS --pgdata <node dir>` as `postgres` on a formation's node.
fn pgaf_autoctl(d: &Drill, host: &str, args: &[&str]) {
    let mut argv = vec!["runuser", "-u", "postgres", "--", "pg_autoctl"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--pgdata", PGAF_NODE_DIR]);
    d.tb.exec(host, &argv)
        .unwrap_or_else(|e| panic!("pg_autoctl {args:?} on {host}: {e}"));
}

/// Waits until the monitor reports `node` in `state` (current and assigned).
fn wait_pgaf_state(d: &Drill, node: &str, states: &[&str]) -> Vec<(String, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let state = pgaf_state(d);
        if state.iter().any(|(n, c, a)| {
            n == node && states.contains(&c.as_str()) && states.contains(&a.as_str())
        }) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "the monitor never reported {node} in {states:?}: {state:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// SQL on a pg_auto_failover node's instance (database `postgres`, port `pgaf_port`), as
/// the `postgres` superuser; psql's unaligned, tuples-only output, trimmed.
fn pgaf_sql(d: &Drill, host: &str, sql: &str) -> String {
    let port = dr_testbed::topology::PGAF_PORT.to_string();
    d.tb.exec(
        host,
        &[
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "-X",
            "-qAt",
            "-v",
            "ON_ERROR_STOP=1",
            "-p",
            &port,
            "-d",
            "postgres",
            "-c",
            sql,
        ],
    )
    .unwrap_or_else(|e| panic!("SQL on {host}:{port}: {e}"))
}

/// `n` rows written on `host`'s node, each its own transaction, each acknowledged (the
/// formation replicates synchronously); their ids.
fn pgaf_write(d: &Drill, host: &str, n: usize) -> Vec<i64> {
    (0..n)
        .map(|_| {
            pgaf_sql(d, host, "INSERT INTO drill DEFAULT VALUES RETURNING id")
                .parse()
                .expect("an id")
        })
        .collect()
}

/// How many of the acknowledged rows `ids` `host`'s node lacks.
fn pgaf_lost(d: &Drill, host: &str, ids: &[i64]) -> usize {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let present: usize = pgaf_sql(
        d,
        host,
        &format!("SELECT count(*) FROM drill WHERE id IN ({list})"),
    )
    .parse()
    .expect("a count");
    ids.len() - present
}

#[test]
fn drill_pg_auto_failover() {
    use dr_testbed::topology::{BACKUP_01, DB_01, DB_02, PGAF_MONITOR_GROUP, PGAF_NODES_GROUP};
    let started = Instant::now();
    let d = Drill::up();
    // The formation: its monitor on the backup host, its nodes beside db-01's and db-02's
    // own clusters (port 5433), db-01 first (primary at creation).
    std::fs::write(
        d.path().join("inventory/testbed/pg_auto_failover.yml"),
        format!(
            "# A pg_auto_failover formation: the monitor and two data nodes.\n\
             all:\n  children:\n    {PGAF_MONITOR_GROUP}:\n      hosts:\n        {BACKUP_01}:\n\
             \x20   {PGAF_NODES_GROUP}:\n      hosts:\n        {DB_01}:\n        {DB_02}:\n"
        ),
    )
    .unwrap();
    let build_started = Instant::now();
    d.dr(&["apply", "playbooks/pg_auto_failover.yml"]).code(0);
    let build = build_started.elapsed();
    d.dr(&["apply", "playbooks/pg_auto_failover.yml"])
        .code(0)
        .stdout_has("Applied: 0 change(s).");
    d.dr(&["plan", "playbooks/pg_auto_failover.yml"])
        .code(0)
        .stdout_has("No changes.");
    let state = wait_pgaf_state(&d, DB_02, &["secondary"]);
    assert!(
        state.iter().any(|(n, c, _)| n == DB_01 && c == "primary"),
        "{state:?}"
    );
    pgaf_sql(
        &d,
        DB_01,
        "CREATE TABLE drill (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
    );

    // (c) The monitor is up but refuses: db-02 is in maintenance when db-01 dies, so it is
    // no candidate. dr reads the refusal at once (it does not wait out the failover
    // timeout) and its plan is the manual promotion, which needs consent; nothing changes.
    pgaf_autoctl(&d, DB_02, &["enable", "maintenance"]);
    wait_pgaf_state(&d, DB_02, &["maintenance"]);
    d.tb.kill(DB_01).expect("kill db-01");
    let refused_at = Instant::now();
    d.dr(&["plan", "playbooks/failover_pg_auto_failover.yml"])
        .stdout_has("the monitor did not promote akira-db-02: manual promotion")
        .stdout_has("promote (with consent, the monitor not having decided it)");
    let verdict = refused_at.elapsed();
    assert_eq!(pgaf_sql(&d, DB_02, "SELECT pg_is_in_recovery()"), "t");
    d.tb.exec(DB_02, &["/etc/init.d/pg_autoctl", "status"])
        .expect("pg_autoctl still runs on db-02 after the plan");
    let state = pgaf_state(&d);
    assert!(
        state
            .iter()
            .any(|(n, c, _)| n == DB_02 && c == "maintenance"),
        "the plan left the formation as it was: {state:?}"
    );
    println!(
        "DRILL pg_auto_failover (monitor refuses): standby in maintenance, primary lost; dr's \
         plan read the refusal and proposed the consented manual promotion in {:.1} s",
        verdict.as_secs_f64()
    );
    // The formation as it was: db-01 back as primary (its pg_autoctl started by hand: the
    // formation's playbook would wait for db-02 to leave maintenance), then db-02 out of
    // maintenance.
    d.tb.start(DB_01).expect("start db-01");
    d.tb.exec(DB_01, &["/etc/init.d/pg_autoctl", "start"])
        .expect("pg_autoctl started on db-01");
    wait_pgaf_state(&d, DB_01, &["primary", "wait_primary"]);
    pgaf_autoctl(&d, DB_02, &["disable", "maintenance"]);
    wait_pgaf_state(&d, DB_02, &["secondary"]);
    wait_pgaf_state(&d, DB_01, &["primary"]);

    // (a) The monitor is up. db-01 dies after acknowledged writes: the monitor promotes
    // db-02, dr waits for it and verifies it.
    let last = pgaf_write(&d, DB_01, 30);
    d.tb.kill(DB_01).expect("kill db-01");
    let killed_at = Instant::now();
    let incident_time = utc_now();
    let incident = format!("incident_time={incident_time}");
    let args = [
        "apply",
        "playbooks/failover_pg_auto_failover.yml",
        "-e",
        &incident,
        "--yes",
    ];
    d.dr(&args)
        .code(0)
        .stdout_has("the monitor promoted akira-db-02");
    let wall = killed_at.elapsed();
    let state = wait_pgaf_state(&d, DB_02, &["primary", "wait_primary"]);
    assert_eq!(pgaf_sql(&d, DB_02, "SELECT pg_is_in_recovery()"), "f");
    let lost_a = pgaf_lost(&d, DB_02, &last);
    assert_eq!(lost_a, 0, "acknowledged rows lost");
    assert_eq!(pgaf_write(&d, DB_02, 5).len(), 5);
    let report = d.latest_report();
    assert_eq!(report["result"], "success");
    assert_eq!(report["rto_met"], true);
    let rpo_a = report["rpo_secs"].as_f64().expect("rpo_secs");
    let rto_a = secs(&report);
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");
    println!(
        "DRILL pg_auto_failover (monitor up): automatic failover; RTO {rto_a:.1} s by the journal \
         ({:.1} s from the kill), RPO {rpo_a:.3} s by the journal, {lost_a} acknowledged row(s) \
         lost; the monitor: {state:?}; formation built in {:.1} s",
        wall.as_secs_f64(),
        build.as_secs_f64()
    );

    // db-01 comes back and rejoins as db-02's standby (the formation's playbook starts its
    // pg_autoctl again).
    d.tb.start(DB_01).expect("start db-01");
    d.dr(&["apply", "playbooks/pg_auto_failover.yml"]).code(0);
    wait_pgaf_state(&d, DB_01, &["secondary"]);
    let last = pgaf_write(&d, DB_02, 30);

    // (b) The monitor is lost, then the primary (db-02). Without consent dr refuses and
    // changes nothing; with it, dr promotes db-01 itself.
    d.tb.kill(BACKUP_01).expect("kill the monitor's host");
    d.tb.kill(DB_02).expect("kill db-02");
    let killed_at = Instant::now();
    let incident_time = utc_now();
    let incident = format!("incident_time={incident_time}");
    let mut args = vec![
        "apply",
        "playbooks/failover_pg_auto_failover.yml",
        "-e",
        &incident,
        "-e",
        "old_primary=akira-db-02",
        "-e",
        "new_primary=akira-db-01",
    ];
    d.dr(&args)
        .code(1)
        .stderr_has("promotes without proving the old primary is down");
    assert_eq!(pgaf_sql(&d, DB_01, "SELECT pg_is_in_recovery()"), "t");
    d.tb.exec(DB_01, &["/etc/init.d/pg_autoctl", "status"])
        .expect("pg_autoctl still runs after the refused apply");
    args.push("--yes");
    d.dr(&args)
        .code(0)
        .stdout_has("the monitor is down: manual promotion");
    let wall_b = killed_at.elapsed();
    assert_eq!(pgaf_sql(&d, DB_01, "SELECT pg_is_in_recovery()"), "f");
    let lost_b = pgaf_lost(&d, DB_01, &last);
    assert_eq!(lost_b, 0, "acknowledged rows lost");
    assert_eq!(pgaf_write(&d, DB_01, 5).len(), 5);
    let report = d.latest_report();
    assert_eq!(report["result"], "success");
    let rpo_b = report["rpo_secs"].as_f64().expect("rpo_secs");
    let rto_b = secs(&report);
    d.dr(&args).code(0).stdout_has("Applied: 0 change(s).");
    println!(
        "DRILL pg_auto_failover (monitor down): manual promotion with consent; RTO {rto_b:.1} s \
         by the journal ({:.1} s from the kill, the refused apply included), RPO {rpo_b:.3} s by \
         the journal, {lost_b} acknowledged row(s) lost; drill wall time {:.0} s",
        wall_b.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
