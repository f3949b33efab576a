//! `systemd` with the real `systemctl` on real unit files. This machine has no systemd as
//! PID 1: enabling, disabling, masking and unmasking work on the unit files all the same
//! (systemctl edits the links), while starting, stopping and `daemon-reload` need the
//! manager, so those tests check that the failures are Ansible's, not that units run.

use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::Systemd;
use crate::modules::systemctl::booted;
use crate::modules::testutil::{Harness, snapshot};

/// A unit file in the vendor directory (so it can be masked), removed with every link
/// systemctl made for it when the test ends.
struct TestUnit {
    name: String,
    file: PathBuf,
}

impl TestUnit {
    fn new(tag: &str) -> Self {
        let name = format!("drtest{}{tag}.service", std::process::id());
        let file = PathBuf::from("/usr/lib/systemd/system").join(&name);
        std::fs::write(
            &file,
            "[Unit]\nDescription=dr test unit\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        TestUnit { name, file }
    }

    fn is_enabled(&self) -> String {
        let out = std::process::Command::new("systemctl")
            .args(["is-enabled", &self.name])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for TestUnit {
    fn drop(&mut self) {
        let etc = PathBuf::from("/etc/systemd/system");
        let _ = std::fs::remove_file(etc.join(&self.name));
        let _ = std::fs::remove_file(etc.join("multi-user.target.wants").join(&self.name));
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Check mode plans `args` without touching the unit's links; apply does it; a second
/// run plans nothing. Returns the applied result.
fn once(h: &Harness, args: Json) -> crate::modules::Outcome {
    let before = snapshot(std::path::Path::new("/etc/systemd/system"));
    let plan = h.check(&Systemd, args.clone());
    assert!(
        plan.outcome.changed && plan.action.is_some(),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(
        snapshot(std::path::Path::new("/etc/systemd/system")),
        before,
        "check mode changed the unit's links"
    );
    let out = h.apply(&Systemd, args.clone());
    assert!(out.changed && !out.failed, "{}", out.msg);
    let again = h.check(&Systemd, args);
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "a second run would change: {}",
        again.outcome.msg
    );
    out
}

#[test]
fn units_are_enabled_disabled_masked_and_unmasked_once_each() {
    let unit = TestUnit::new("a");
    let h = Harness::new();
    let name = unit.name.clone();
    assert_eq!(unit.is_enabled(), "disabled");

    let plan = h.check(&Systemd, json!({"name": name, "enabled": true}));
    assert_eq!(plan.outcome.msg, format!("would enable unit `{name}`"));
    assert_eq!(plan.outcome.data["enabled"], json!(true));
    assert_eq!(plan.outcome.diffs[0].text, "enabled no -> yes");
    let out = once(&h, json!({"name": name, "enabled": true}));
    assert_eq!(out.data["enabled"], json!(true));
    assert_eq!(out.data["name"], json!(name));
    assert_eq!(unit.is_enabled(), "enabled");

    once(&h, json!({"unit": name, "enabled": "no"}));
    assert_eq!(unit.is_enabled(), "disabled");

    let out = once(&h, json!({"service": name, "masked": true}));
    assert_eq!(out.msg, format!("ran mask unit `{name}`"));
    assert_eq!(unit.is_enabled(), "masked");

    // Unmasked, then enabled: is-enabled is asked again after the unmask.
    let out = once(&h, json!({"name": name, "masked": false, "enabled": true}));
    assert_eq!(out.data["enabled"], json!(true));
    assert_eq!(unit.is_enabled(), "enabled");
    once(&h, json!({"name": name, "enabled": false}));
}

#[test]
fn starting_without_a_running_manager_fails_as_in_ansible() {
    if booted() {
        eprintln!("systemd runs here: this test is for hosts without it");
        return;
    }
    let unit = TestUnit::new("b");
    let mut h = Harness::new();
    let plan = h.check(&Systemd, json!({"name": unit.name, "state": "started"}));
    assert!(plan.outcome.failed && plan.action.is_none());
    assert_eq!(plan.outcome.msg, "Service is in unknown state");
    assert_eq!(plan.outcome.data["status"], json!({}));

    h.environment = vec![("SYSTEMD_OFFLINE".into(), "1".into())];
    let plan = h.check(&Systemd, json!({"name": unit.name, "state": "started"}));
    assert!(
        !plan.outcome.failed && !plan.outcome.changed,
        "{}",
        plan.outcome.msg
    );
    assert_eq!(plan.outcome.data["state"], json!("started"));
    assert!(
        plan.outcome
            .msg
            .contains("warning: Target is a chroot or systemd is offline")
    );

    // daemon-reload is no change, and check mode does not run it.
    let h = Harness::new();
    let reload = json!({"daemon_reload": true});
    let plan = h.check(&Systemd, reload.clone());
    assert!(!plan.outcome.changed && plan.action.is_none());
    assert_eq!(plan.outcome.msg, "would daemon-reload");
    assert_eq!(plan.outcome.data["name"], Json::Null);
    let out = h.apply(&Systemd, reload);
    assert!(out.failed);
    assert!(
        out.msg
            .starts_with("failure 1 during daemon-reload: System has not been booted"),
        "{}",
        out.msg
    );
}

#[test]
fn a_missing_unit_and_bad_arguments_are_refused() {
    let h = Harness::new();
    for args in [
        json!({"name": "drtest-no-such-unit", "enabled": true}),
        json!({"name": "drtest-no-such-unit", "state": "stopped"}),
    ] {
        let plan = h.check(&Systemd, args);
        assert!(plan.outcome.failed);
        // As Ansible: when neither `show` nor the unit files know the unit, a bare
        // `systemctl` says whether the manager is there; without one, its error is the
        // task's.
        let want = if booted() {
            "Could not find the requested service drtest-no-such-unit: host"
        } else {
            "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down"
        };
        assert_eq!(plan.outcome.msg, want);
    }
    for (args, want) in [
        (
            json!({"name": "x"}),
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec",
        ),
        (
            json!({"enabled": true}),
            "missing parameter(s) required by 'enabled': name",
        ),
        (
            json!({"name": "web*", "state": "started"}),
            "This module does not currently support using glob patterns, found '*' in service name: web*",
        ),
        (
            json!({"name": "x", "state": "running"}),
            "unknown variant `running`",
        ),
        (
            json!({"name": "x", "scope": "session", "enabled": true}),
            "unknown variant `session`",
        ),
        (
            json!({"name": "x", "use": "systemd", "enabled": true}),
            "unknown field `use`",
        ),
    ] {
        let e = h.check_err(&Systemd, args);
        assert!(
            e.starts_with("invalid arguments for module `systemd`: "),
            "{e}"
        );
        assert!(e.contains(want), "{e}");
    }
}
