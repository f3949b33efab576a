//! The test bed itself: the topology replicates, the app writes CDRs to the
//! database its `.env` names, a dead primary stops the writes, and a replaced host
//! comes back bare with a new host key.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use dr_testbed::topology::{DB_01, DB_02, MGMT_01, SIG_01};
use dr_testbed::{Error, Options, Testbed};

fn up() -> Testbed {
    let started = Instant::now();
    let testbed = Testbed::up(Options::default())
        .unwrap_or_else(|e| panic!("the test bed did not come up: {e}"));
    eprintln!(
        "test bed {} up in {:.1} s ({:.1} s of it starting hosts)",
        testbed.run_id(),
        started.elapsed().as_secs_f64(),
        testbed.start_time().as_secs_f64()
    );
    testbed
}

fn count_cdrs(testbed: &Testbed, host: &str) -> u64 {
    let out = testbed
        .sql(host, "SELECT count(*) FROM cdr")
        .unwrap_or_else(|e| panic!("counting CDRs on `{host}`: {e}"));
    out.parse()
        .unwrap_or_else(|_| panic!("count on `{host}` is not a number: {out:?}"))
}

/// `ssh` to `host` with the test key, checking its key against `known_hosts`.
fn ssh(testbed: &Testbed, host: &str, known_hosts: &Path, command: &str) -> std::process::Output {
    let addr = testbed.host(host).expect("host").ssh_addr();
    Command::new("ssh")
        .arg("-i")
        .arg(testbed.private_key_path())
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-p",
            &addr.port().to_string(),
            &format!("root@{}", addr.ip()),
            command,
        ])
        .output()
        .expect("running ssh")
}

fn ssh_ok(testbed: &Testbed, host: &str, known_hosts: &Path, command: &str) -> String {
    let out = ssh(testbed, host, known_hosts, command);
    assert!(
        out.status.success(),
        "ssh {host} {command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn replica_follows_the_primary_and_cdrs_grow_until_the_primary_dies() {
    let testbed = up();
    let scratch = tempfile::tempdir().expect("temp dir");

    // Every host answers SSH with the test key and the host key the harness reports.
    let known_hosts = scratch.path().join("known_hosts");
    testbed
        .write_known_hosts(&known_hosts)
        .expect("writing known_hosts");
    for host in testbed.hosts() {
        assert_eq!(
            ssh_ok(&testbed, &host.name, &known_hosts, "hostname"),
            host.name
        );
    }

    // The inventory names every host with its SSH address.
    let inventory = scratch.path().join("inventory.yml");
    testbed
        .write_inventory(&inventory)
        .expect("writing inventory");
    let text = std::fs::read_to_string(&inventory).expect("reading inventory");
    for host in testbed.hosts() {
        assert!(
            text.contains(&format!("        {}:\n", host.name)),
            "{text}"
        );
        assert!(
            text.contains(&format!("ansible_host: {}\n", host.address)),
            "{text}"
        );
    }

    // A row inserted on the primary appears on the replica.
    let id = testbed
        .sql(
            DB_01,
            "INSERT INTO cdr (caller, callee, duration_ms) VALUES ('+15550000001', 'replication-probe', 1) RETURNING id",
        )
        .expect("insert on the primary");
    let replicated = dr_testbed::until(
        "the probe row on the replica",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let n = testbed.sql(
                DB_02,
                &format!(
                    "SELECT count(*) FROM cdr WHERE id = {id} AND callee = 'replication-probe'"
                ),
            )?;
            Ok((n == "1").then_some(()))
        },
    );
    replicated.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        testbed
            .sql(DB_02, "SELECT pg_is_in_recovery()")
            .expect("query replica"),
        "t"
    );

    // cdr-worker writes into the database DATABASE_URL names.
    let url = testbed.database_url().expect("reading DATABASE_URL");
    assert!(url.contains(&format!("@{DB_01}:5432/akira")), "{url}");
    let before = count_cdrs(&testbed, DB_01);
    sleep(Duration::from_secs(2));
    let after = count_cdrs(&testbed, DB_01);
    assert!(
        after >= before + 5,
        "cdr-worker should add ~10 rows a second: {before} -> {after}"
    );

    // The backend reports the database it is connected to.
    let health = testbed.backend_health().expect("GET /healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    let db_01_address = testbed.host(DB_01).expect("db-01").address;
    assert!(
        health.body.contains(&format!("\"host\": \"{DB_01}\"")),
        "{}",
        health.body
    );
    assert!(
        health
            .body
            .contains(&format!("\"address\": \"{db_01_address}\"")),
        "{}",
        health.body
    );

    // Host lost: with the primary dead, no more CDRs arrive (the replica shows
    // everything the primary committed).
    testbed.kill(DB_01).expect("killing db-01");
    sleep(Duration::from_secs(1));
    let at_death = count_cdrs(&testbed, DB_02);
    assert!(
        at_death >= after,
        "the replica lost rows: {after} -> {at_death}"
    );
    sleep(Duration::from_secs(3));
    assert_eq!(
        count_cdrs(&testbed, DB_02),
        at_death,
        "CDRs still growing with the primary dead"
    );
    let health = testbed.backend_health().expect("GET /healthz");
    assert_eq!(
        health.status, 503,
        "backend healthy without its database: {}",
        health.body
    );

    // The lost host comes back as it was: still the primary, with every row.
    testbed.start(DB_01).expect("starting db-01 again");
    testbed
        .wait_postgres(DB_01, false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(count_cdrs(&testbed, DB_01) >= at_death);

    testbed.down().expect("tearing the test bed down");
}

#[test]
fn a_replaced_host_is_bare_with_a_new_host_key() {
    let testbed = up();
    let scratch = tempfile::tempdir().expect("temp dir");
    let old_known_hosts = scratch.path().join("known_hosts.old");
    testbed
        .write_known_hosts(&old_known_hosts)
        .expect("writing known_hosts");
    let old_key = testbed.known_hosts_line(DB_01).expect("db-01 host key");
    let address = testbed.host(DB_01).expect("db-01").address;

    testbed.replace_bare(DB_01).expect("replacing db-01");
    testbed.replace_bare(MGMT_01).expect("replacing mgmt-01");

    // Same address, new host key: ssh with the old known_hosts refuses it.
    let new_key = testbed.known_hosts_line(DB_01).expect("new db-01 host key");
    assert_eq!(testbed.host(DB_01).expect("db-01").address, address);
    assert!(
        new_key.starts_with(&format!("{address} ssh-ed25519 ")),
        "{new_key}"
    );
    assert_ne!(old_key, new_key, "a replaced host must have a new host key");
    let refused = ssh(&testbed, DB_01, &old_known_hosts, "true");
    assert!(!refused.status.success(), "ssh accepted a changed host key");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // With the new key it is reachable with the test key, and bare.
    let known_hosts = scratch.path().join("known_hosts");
    testbed
        .write_known_hosts(&known_hosts)
        .expect("writing known_hosts");
    assert_eq!(ssh_ok(&testbed, DB_01, &known_hosts, "hostname"), DB_01);
    assert_eq!(
        ssh_ok(
            &testbed,
            DB_01,
            &known_hosts,
            "test -e /var/lib/postgresql && echo data; command -v psql pg_ctlcluster || echo bare"
        ),
        "bare"
    );
    assert_eq!(
        ssh_ok(
            &testbed,
            MGMT_01,
            &known_hosts,
            "test -e /opt/akira && echo akira; command -v docker || echo bare"
        ),
        "bare"
    );
    // The compose services went with the management host.
    assert!(testbed.backend_addr().is_err(), "backend outlived its host");

    // A bare host installs packages from the test bed's mirror.
    ssh_ok(
        &testbed,
        DB_01,
        &known_hosts,
        "apt-get -qq update && apt-get -qq install -y postgresql-client-15 >/dev/null",
    );
    assert!(
        ssh_ok(&testbed, DB_01, &known_hosts, "psql --version").contains("15."),
        "psql 15 from the mirror"
    );
    // ... and reaches the replica, which still serves.
    assert_eq!(
        testbed
            .sql(DB_02, "SELECT pg_is_in_recovery()")
            .expect("query replica"),
        "t"
    );

    // The other hosts were left alone.
    assert_eq!(ssh_ok(&testbed, SIG_01, &known_hosts, "hostname"), SIG_01);
}

#[test]
fn without_docker_up_fails_naming_what_is_missing() {
    let err = Testbed::up(Options {
        docker: Some("/nonexistent/docker".to_owned()),
        ..Options::default()
    })
    .expect_err("a test bed without docker");
    assert!(matches!(err, Error::DockerMissing { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("the test bed needs Docker"), "{msg}");
    assert!(msg.contains("/nonexistent/docker"), "{msg}");
}
