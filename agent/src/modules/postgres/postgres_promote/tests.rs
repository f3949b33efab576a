use std::net::TcpListener;

use serde_json::json;

use super::{PostgresPromote, split_host_port};
use crate::modules::pgtest::{Cluster, free_port};
use crate::modules::testutil::{Harness, snapshot};

fn in_recovery(c: &Cluster) -> String {
    c.sql("SELECT pg_is_in_recovery()")
}

#[test]
fn refused_while_the_old_primary_answers_then_promotes_once_it_is_down() {
    let primary = Cluster::primary();
    let standby = Cluster::standby_of(&primary);
    standby.wait_for("SELECT status FROM pg_stat_wal_receiver", "streaming");
    primary.sql("CREATE TABLE cdr AS SELECT generate_series(1, 10) AS id");
    standby.wait_for("SELECT count(*) FROM pg_class WHERE relname = 'cdr'", "1");
    let h = Harness::new();
    let args = json!({
        "data_dir": standby.data_str(),
        "require_down": [format!("127.0.0.1:{}", primary.port)],
        "timeout": 60,
    });

    // Split brain guard: the old primary answers, so nothing happens, in either mode.
    let before = snapshot(&standby.data);
    let plan = h.check(&PostgresPromote, args.clone());
    assert!(plan.outcome.failed && plan.action.is_none());
    assert!(
        plan.outcome.msg.contains("still answers on 127.0.0.1:")
            && plan.outcome.msg.contains("split brain"),
        "{}",
        plan.outcome.msg
    );
    let out = h.apply(&PostgresPromote, args.clone());
    assert!(out.failed);
    assert_eq!(in_recovery(&standby), "t");
    drop(before);

    // The old primary dies: check mode plans the promotion and changes nothing.
    primary.kill();
    let plan = h.check(&PostgresPromote, args.clone());
    assert!(
        plan.outcome.changed && !plan.outcome.failed && !plan.outcome.dangerous,
        "{}",
        plan.outcome.msg
    );
    assert!(
        plan.outcome.msg.starts_with("would promote"),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(plan.outcome.diffs[0].text, "role: standby -> primary");
    assert_eq!(in_recovery(&standby), "t", "check mode promoted");

    let out = h.apply(&PostgresPromote, args.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(in_recovery(&standby), "f");
    assert!(out.data["promoted_at"].is_string());
    assert!(out.data["replay_lag_seconds"].is_number(), "{:?}", out.data);
    assert_eq!(out.data["timeline_before"], json!(1));
    assert_eq!(out.data["timeline"], json!(2));
    assert_eq!(standby.sql("SELECT count(*) FROM cdr"), "10");

    // Idempotent: already primary.
    let again = h.check(&PostgresPromote, args);
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "{}",
        again.outcome.msg
    );
    assert!(again.outcome.msg.contains("already a primary"));
}

#[test]
fn force_overrides_the_guard_and_is_dangerous() {
    let primary = Cluster::primary();
    let standby = Cluster::standby_of(&primary);
    standby.wait_for("SELECT status FROM pg_stat_wal_receiver", "streaming");
    let h = Harness::new();
    let args = json!({
        "data_dir": standby.data_str(),
        "require_down": [format!("127.0.0.1:{}", primary.port)],
        "force": "yes",
    });
    let plan = h.check(&PostgresPromote, args.clone());
    assert!(
        plan.outcome.dangerous && plan.outcome.changed,
        "{}",
        plan.outcome.msg
    );
    assert!(plan.outcome.msg.contains("FORCED"), "{}", plan.outcome.msg);
    let out = h.apply(&PostgresPromote, args);
    assert!(out.dangerous && out.changed && !out.failed, "{}", out.msg);
    assert_eq!(in_recovery(&standby), "f");
}

#[test]
fn no_require_down_is_refused_and_nothing_listening_is_proof() {
    let primary = Cluster::primary();
    let standby = Cluster::standby_of(&primary);
    let h = Harness::new();
    let plan = h.check(&PostgresPromote, json!({"data_dir": standby.data_str()}));
    assert!(
        plan.outcome.failed && plan.outcome.msg.contains("no `require_down`"),
        "{}",
        plan.outcome.msg
    );

    // A listener on another address counts as "answers", a closed port as "down".
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let open = l
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let closed = free_port();
    let plan = h.check(
        &PostgresPromote,
        json!({"data_dir": standby.data_str(), "require_down": ["127.0.0.1"], "require_down_port": open}),
    );
    assert!(plan.outcome.failed, "{}", plan.outcome.msg);
    let plan = h.check(
        &PostgresPromote,
        json!({"data_dir": standby.data_str(), "require_down": [format!("127.0.0.1:{closed}")]}),
    );
    assert!(
        plan.outcome.changed && !plan.outcome.failed,
        "{}",
        plan.outcome.msg
    );
    assert_eq!(
        plan.outcome.data["require_down"],
        json!([format!("127.0.0.1:{closed}")])
    );
}

#[test]
fn host_port_entries() {
    assert_eq!(
        split_host_port("db-01", 5432).ok(),
        Some(("db-01".into(), 5432))
    );
    assert_eq!(
        split_host_port("db-01:5433", 5432).ok(),
        Some(("db-01".into(), 5433))
    );
    assert_eq!(
        split_host_port("[::1]:6000", 5432).ok(),
        Some(("::1".into(), 6000))
    );
    assert!(split_host_port("db:x", 5432).is_err());
}
