//! This machine has no systemd as PID 1, so the tests drive the init-script path against a
//! real LSB-style script that starts and stops a real process.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use super::Service;
use crate::modules::testutil::Harness;

/// An init script for a `sleep` daemon with a pid file in `dir`.
fn script(dir: &Path) -> String {
    script_writing_its_pid_after(dir, 0)
}

/// As [`script`], with a daemon that writes its pid file `ms` milliseconds after the
/// script has returned (as a forking daemon does once it has detached).
fn script_writing_its_pid_after(dir: &Path, ms: u32) -> String {
    let pid = dir.join("demo.pid");
    let path = dir.join("demo");
    let start = if ms == 0 {
        r#"setsid sleep 1000 >/dev/null 2>&1 & echo $! > "$PIDFILE";"#.to_owned()
    } else {
        let delay = f64::from(ms) / 1000.0;
        format!(
            r#"setsid sh -c 'sleep {delay}; echo $$ > "$1"; exec sleep 1000' sh "$PIDFILE" >/dev/null 2>&1 &"#
        )
    };
    let text = format!(
        r#"#!/bin/sh
PIDFILE={pid}
running() {{ [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }}
case "$1" in
  start) running || {{ {start} }} ;;
  stop) running && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE" ;;
  restart) "$0" stop; "$0" start ;;
  reload) running && echo reloaded >> {dir}/reloads ;;
  status) running && exit 0; [ -f "$PIDFILE" ] && exit 1; exit 3 ;;
  *) exit 2 ;;
esac
"#,
        pid = pid.display(),
        dir = dir.display()
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

fn pid(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("demo.pid"))
        .ok()
        .map(|s| s.trim().to_owned())
}

struct Stop(String);
impl Drop for Stop {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.0).arg("stop").output();
    }
}

#[test]
fn init_script_start_stop_restart_are_planned_and_idempotent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = script(dir.path());
    let _guard = Stop(s.clone());
    let h = Harness::new();
    let started = json!({"name": "demo", "state": "started", "init_script": s});

    let plan = h.check(&Service, started.clone());
    assert!(plan.outcome.changed);
    assert_eq!(
        plan.outcome.msg,
        "would start service `demo` (stopped now, via init script)"
    );
    assert_eq!(pid(dir.path()), None, "check mode started it");
    let out = h.apply(&Service, started.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(out.data["state"], json!("started"));
    let first = pid(dir.path());
    assert!(first.is_some());
    let again = h.check(&Service, started.clone());
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "{}",
        again.outcome.msg
    );

    let restarted = json!({"name": "demo", "state": "restarted", "init_script": s});
    assert!(
        h.check(&Service, restarted.clone())
            .outcome
            .msg
            .starts_with("would restart")
    );
    assert_eq!(pid(dir.path()), first);
    h.apply(&Service, restarted);
    assert!(pid(dir.path()).is_some() && pid(dir.path()) != first);

    h.apply(
        &Service,
        json!({"name": "demo", "state": "reloaded", "init_script": s}),
    );
    assert!(dir.path().join("reloads").exists());

    let stopped = json!({"name": "demo", "state": "stopped", "init_script": s});
    let out = h.apply(&Service, stopped.clone());
    assert!(
        out.changed && out.data["state"] == json!("stopped"),
        "{}",
        out.msg
    );
    assert_eq!(pid(dir.path()), None);
    assert!(!h.check(&Service, stopped).outcome.changed);
}

#[test]
fn a_daemon_that_writes_its_pid_file_late_is_started_once() {
    // Debian's PgBouncer script returns when the daemon forks; its pid file comes after.
    // Read too early, `status` says "stopped": the outcome said so, and a handler's
    // `reloaded` right after started it a second time, which failed on the busy port.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = script_writing_its_pid_after(dir.path(), 400);
    let _guard = Stop(s.clone());
    let h = Harness::new();
    let out = h.apply(
        &Service,
        json!({"name": "demo", "state": "started", "init_script": s}),
    );
    assert!(out.changed && !out.failed, "{}", out.msg);
    assert_eq!(out.data["state"], json!("started"), "{}", out.msg);
    assert!(
        pid(dir.path()).is_some(),
        "no pid file once `started` returned"
    );
    let reload = h.check(
        &Service,
        json!({"name": "demo", "state": "reloaded", "init_script": s}),
    );
    assert!(
        reload.outcome.msg.starts_with("would reload"),
        "{}",
        reload.outcome.msg
    );
}

#[test]
fn errors_name_the_service() {
    let h = Harness::new();
    let e = h.check_err(
        &Service,
        json!({"name": "nope-dr", "state": "started", "use": "init"}),
    );
    assert!(
        e.contains("service `nope-dr`: no init script at `/etc/init.d/nope-dr`"),
        "{e}"
    );
    assert!(
        h.check_err(&Service, json!({"name": "x"}))
            .contains("give `state`")
    );
    assert!(
        h.check_err(&Service, json!({"name": "x", "state": "running"}))
            .contains("unknown variant")
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = script(dir.path());
    let e = h.check_err(
        &Service,
        json!({"name": "demo", "enabled": true, "init_script": s}),
    );
    assert!(e.contains("`enabled` needs systemd"), "{e}");
}

#[test]
fn systemd_arguments_without_systemd_are_refused_by_name() {
    // On a host systemd runs, `service` hands these to the `systemd` module, as Ansible's
    // action does; without it, Ansible's init-script module does not know them.
    let h = Harness::new();
    if super::systemctl::booted() {
        let plan = h.check(&Service, json!({"name": "cron", "daemon-reload": true}));
        assert!(plan.outcome.changed, "a daemon-reload is a change");
        return;
    }
    let e = h.check_err(&Service, json!({"name": "cron", "daemon-reload": true}));
    assert!(
        e.contains("Unsupported parameters for (service) module: daemon-reload"),
        "{e}"
    );
    let e = h.check_err(
        &Service,
        json!({"name": "cron", "state": "started", "pattern": "cron"}),
    );
    assert!(e.contains("`pattern`"), "{e}");
}
