use std::path::PathBuf;

use serde_json::json;

use super::PostgresReplica;
use crate::modules::hostcmd::{self, command_as};
use crate::modules::pgtest::{Cluster, bin, pg_user};
use crate::modules::testutil::Harness;

/// Moves `c`'s configuration to `<root>/conf`, as Debian keeps it in /etc/postgresql, and
/// restarts it from there: a base backup then replaces the data dir without taking the
/// config (port, sockets) of the primary.
fn debian_style(c: &Cluster) -> PathBuf {
    let conf = c.root.path().join("conf");
    c.kill();
    let sh = format!(
        "mkdir -p {conf} && mv {data}/postgresql.conf {data}/pg_hba.conf {data}/pg_ident.conf {conf}/ && \
         printf \"data_directory = '{data}'\\nhba_file = '{conf}/pg_hba.conf'\\nident_file = '{conf}/pg_ident.conf'\\n\" >> {conf}/postgresql.conf",
        conf = conf.display(),
        data = c.data.display()
    );
    let ran = hostcmd::run(
        command_as(pg_user(), "sh")
            .current_dir("/")
            .args(["-c", &sh]),
        "sh",
    );
    assert!(ran.as_ref().is_ok_and(|r| r.ok()), "{ran:?}");
    let log = c.root.path().join("server.log");
    let ran = hostcmd::run(
        command_as(pg_user(), bin().join("pg_ctl"))
            .current_dir("/")
            .args(["start", "-w", "-D"])
            .arg(&conf)
            .arg("-l")
            .arg(&log),
        "pg_ctl start",
    );
    assert!(ran.as_ref().is_ok_and(|r| r.ok()), "{ran:?}");
    conf
}

#[test]
fn rebuilds_only_with_consent_then_streams_and_is_idempotent() {
    let primary = Cluster::primary();
    primary.sql("CREATE TABLE cdr AS SELECT generate_series(1, 42) AS id");
    let old = Cluster::primary();
    old.sql("CREATE TABLE stale AS SELECT 1");
    let conf = debian_style(&old);
    let h = Harness::new();
    let mut args = json!({
        "data_dir": old.data_str(),
        "config_dir": conf.display().to_string(),
        "log_file": old.root.path().join("rebuild.log").display().to_string(),
        "primary_host": "127.0.0.1",
        "primary_port": primary.port,
        "replication_user": "replicator",
        "replication_password": "s3cret",
        "slot": "akira_db_01",
        "timeout": 60,
    });

    // No consent: refused, nothing touched.
    let out = h.apply(&PostgresReplica, args.clone());
    assert!(
        out.failed && out.msg.contains("set `destroy_data: true`"),
        "{}",
        out.msg
    );
    assert!(out.msg.contains("running as a primary"), "{}", out.msg);
    assert_eq!(old.sql("SELECT count(*) FROM stale"), "1");

    // Consent: check mode plans a dangerous rebuild and still touches nothing.
    args["destroy_data"] = json!(true);
    let plan = h.check(&PostgresReplica, args.clone());
    assert!(
        plan.outcome.changed && plan.outcome.dangerous,
        "{}",
        plan.outcome.msg
    );
    assert!(
        plan.outcome.msg.contains("DELETE everything in"),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(
        plan.outcome.diffs[0].text,
        format!(
            "replication: running as a primary -> streaming from 127.0.0.1:{}",
            primary.port
        )
    );
    assert_eq!(old.sql("SELECT count(*) FROM stale"), "1");
    assert!(!plan.outcome.msg.contains("s3cret"));

    let out = h.apply(&PostgresReplica, args.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(
        out.data["postgres"]["wal_receiver"]["status"],
        json!("streaming")
    );
    assert_eq!(old.sql("SELECT pg_is_in_recovery()"), "t");
    assert_eq!(old.sql("SELECT count(*) FROM cdr"), "42");
    assert_eq!(
        old.sql("SELECT count(*) FROM pg_class WHERE relname = 'stale'"),
        "0"
    );
    assert_eq!(
        primary.sql("SELECT active FROM pg_replication_slots WHERE slot_name = 'akira_db_01'"),
        "t"
    );
    // New writes on the primary arrive.
    primary.sql("INSERT INTO cdr VALUES (43)");
    old.wait_for("SELECT count(*) FROM cdr", "43");

    // Idempotent: already streaming from that primary.
    let again = h.check(&PostgresReplica, args.clone());
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "{}",
        again.outcome.msg
    );
    assert!(again.outcome.msg.contains("already streams"));
}

#[test]
fn an_empty_data_dir_needs_no_consent_and_a_bad_password_is_reported() {
    let primary = Cluster::primary();
    let target = crate::modules::pgtest::owned_tempdir();
    let data = target.path().join("data");
    let port = crate::modules::pgtest::free_port();
    let h = Harness::new();
    let mut args = json!({
        "data_dir": data.display().to_string(),
        "primary_host": "127.0.0.1",
        "primary_port": primary.port,
        "replication_user": "replicator",
        "replication_password": "wrong",
        "timeout": 60,
    });
    let plan = h.check(&PostgresReplica, args.clone());
    assert!(
        plan.outcome.changed && !plan.outcome.dangerous,
        "{}",
        plan.outcome.msg
    );
    let ctx = h.ctx(false);
    let err = match plan.action.map(|a| a.apply(&ctx)) {
        Some(Err(e)) => e.to_string(),
        other => panic!(
            "expected a failure, got {:?}",
            other.map(|r| r.map(|o| o.msg))
        ),
    };
    assert!(
        err.contains("pg_basebackup") && err.contains("password authentication failed"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "{err}");

    // The right password: a fresh replica, configured Debian-style from its own conf dir.
    let conf = target.path().join("conf");
    let sh = format!(
        "mkdir -p {c} && printf \"data_directory = '{d}'\\nhba_file = '{c}/pg_hba.conf'\\nport = {port}\\nunix_socket_directories = '{c}'\\nlisten_addresses = ''\\n\" > {c}/postgresql.conf && echo 'local all all trust' > {c}/pg_hba.conf",
        c = conf.display(),
        d = data.display()
    );
    let ran = hostcmd::run(
        command_as(pg_user(), "sh")
            .current_dir("/")
            .args(["-c", &sh]),
        "sh",
    );
    assert!(ran.as_ref().is_ok_and(|r| r.ok()), "{ran:?}");
    args["replication_password"] = json!("s3cret");
    args["config_dir"] = json!(conf.display().to_string());
    args["log_file"] = json!(target.path().join("pg.log").display().to_string());
    let out = h.apply(&PostgresReplica, args.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    let again = h.check(&PostgresReplica, args);
    assert!(!again.outcome.changed, "{}", again.outcome.msg);
    let _ = hostcmd::run(
        command_as(pg_user(), bin().join("pg_ctl"))
            .current_dir("/")
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&data),
        "pg_ctl stop",
    );
}
