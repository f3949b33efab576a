//! Unit tests of the native `apt` module: argument checks, the cache rule, and a real run
//! against a `file:` repository under an `APT_CONFIG` of its own (no network, the machine's
//! sources unread; the package, `dr-test-apt-unit`, is purged at the end).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::spec::AptSpec;
use super::{Apt, split_lines, wants_update};
use crate::modules::parse_args;
use crate::modules::testutil::Harness;

fn spec(v: serde_json::Value) -> AptSpec {
    parse_args("apt", &v).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_cache_is_updated_when_asked_and_older_than_valid_time() {
    assert!(wants_update(&spec(json!({"update_cache": true})), 100, 101));
    assert!(!wants_update(
        &spec(json!({"update_cache": false})),
        100,
        200
    ));
    assert!(!wants_update(&spec(json!({"name": "x"})), 100, 200));
    let valid = spec(json!({"cache_valid_time": 3600}));
    assert!(!wants_update(&valid, 100, 3000));
    assert!(wants_update(&valid, 100, 4000));
    assert!(!wants_update(
        &spec(json!({"update-cache": "yes", "cache_valid_time": "3600"})),
        100,
        3000
    ));
}

#[test]
fn output_lines_split_as_pythons_splitlines() {
    assert_eq!(split_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
    assert_eq!(split_lines("a\n\nb\n"), ["a", "", "b"]);
    assert!(split_lines("").is_empty());
}

#[test]
fn arguments_are_checked_as_ansible_checks_them() {
    let h = Harness::new();
    let err = h.check_err(&Apt, json!({"name": "x", "deb": "/x.deb"}));
    assert!(
        err.contains("parameters are mutually exclusive: deb|package|upgrade"),
        "{err}"
    );
    let err = h.check_err(&Apt, json!({"name": "x", "state": "installed"}));
    assert!(err.contains("unknown variant `installed`"), "{err}");
    let err = h.check_err(&Apt, json!({"upgrade": "sometimes", "force_apt_get": true}));
    assert!(
        err.contains("value of upgrade must be one of: dist, full, no, safe, yes, got: sometimes"),
        "{err}"
    );
    let err = h.check_err(&Apt, json!({"name": "x", "autoremoove": true}));
    assert!(err.contains("unknown field `autoremoove`"), "{err}");
    let plan = h.check(&Apt, json!({"name": "dpkg=1.0=2"}));
    assert_eq!(plan.outcome.msg, "invalid package spec: dpkg=1.0=2");
    assert!(plan.outcome.failed);
    let plan = h.check(&Apt, json!({"name": ["*", "dpkg"], "state": "latest"}));
    assert!(plan.outcome.failed);
    assert_eq!(
        plan.outcome.msg,
        "unable to install additional packages when upgrading all installed packages"
    );
    let plan = h.check(&Apt, json!({"deb": "https://example.invalid/x.deb"}));
    assert!(plan.outcome.failed && plan.outcome.msg.contains("`deb` URL is not supported"));
}

fn sh(cmd: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with `dr-test-apt-unit` 1.0 and an apt configuration that sees only it.
fn repo(dir: &Path) -> String {
    let d = dir.display();
    sh(&format!(
        "mkdir -p {d}/pkg/DEBIAN {d}/repo {d}/lists/partial {d}/cache/archives/partial {d}/parts \
         && printf 'Package: dr-test-apt-unit\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: dr <dr@example.invalid>\\nDescription: dr test\\n' > {d}/pkg/DEBIAN/control \
         && dpkg-deb --root-owner-group --build {d}/pkg {d}/repo/dr-test-apt-unit_1.0_all.deb >/dev/null \
         && cd {d}/repo && dpkg-scanpackages . /dev/null > Packages 2>/dev/null \
         && echo 'deb [trusted=yes] file:{d}/repo ./' > {d}/sources.list \
         && printf 'Dir::Etc::SourceList \"{d}/sources.list\";\\nDir::Etc::SourceParts \"{d}/parts\";\\nDir::State::Lists \"{d}/lists\";\\nDir::Cache \"{d}/cache\";\\nAPT::Sandbox::User \"root\";\\n' > {d}/apt.conf"
    ));
    format!("{d}/apt.conf")
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev}", "dr-test-apt-unit"])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"ii"))
}

#[test]
fn install_is_idempotent_and_check_mode_changes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let conf = repo(dir.path());
    let _ = Command::new("dpkg")
        .args(["--purge", "dr-test-apt-unit"])
        .output();
    let mut h = Harness::new();
    h.environment = vec![("APT_CONFIG".into(), conf)];
    let args = json!({"name": "dr-test-apt-unit"});

    // Check mode: would update the cache, yet the cache stays as it was.
    let plan = h.check(&Apt, json!({"update_cache": true}));
    assert!(plan.outcome.changed, "{:?}", plan.outcome);
    assert_eq!(plan.outcome.data["cache_updated"], json!(true));
    let lists = std::fs::read_dir(dir.path().join("lists"))
        .unwrap_or_else(|e| panic!("{e}"))
        .count();
    assert_eq!(lists, 1, "only `partial`: check mode left the cache alone");
    let updated = h.apply(&Apt, json!({"update_cache": true}));
    assert!(!updated.failed, "{updated:?}");

    // Check mode: would install (apt-get --simulate), dpkg unchanged.
    let plan = h.check(&Apt, args.clone());
    assert!(plan.outcome.changed, "{:?}", plan.outcome);
    assert!(!installed());

    let done = h.apply(&Apt, args);
    assert!(done.changed && !done.failed, "{done:?}");
    assert!(installed());
    let again = h.apply(&Apt, json!({"name": "dr-test-apt-unit"}));
    assert!(!again.changed && !again.failed, "{again:?}");
    let plan = h.check(&Apt, json!({"name": "dr-test-apt-unit"}));
    assert!(plan.action.is_none() && !plan.outcome.changed);

    // Named packages end up marked manual, as with Ansible, with no change reported.
    let conf = &h.environment[0].1;
    sh(&format!(
        "APT_CONFIG={conf} apt-mark auto dr-test-apt-unit >/dev/null"
    ));
    let kept = h.apply(&Apt, json!({"name": "dr-test-apt-unit"}));
    assert!(!kept.changed && !kept.failed, "{kept:?}");
    let manual = Command::new("apt-mark")
        .args(["showmanual", "dr-test-apt-unit"])
        .env("APT_CONFIG", conf)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&manual.stdout).trim(),
        "dr-test-apt-unit"
    );

    let gone = h.apply(&Apt, json!({"name": "dr-test-apt-unit", "state": "absent"}));
    assert!(gone.changed && !gone.failed, "{gone:?}");
    assert!(!installed());
    let again = h.apply(&Apt, json!({"name": "dr-test-apt-unit", "state": "absent"}));
    assert!(!again.changed, "{again:?}");
}
