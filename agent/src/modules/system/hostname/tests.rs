use std::fs;

use serde_json::json;

use super::strategy::Strategy;
use super::{Hostname, fqdn, plan};
use crate::modules::testutil::{Harness, snapshot};

#[test]
fn file_strategy_plans_writes_and_converges_under_a_temporary_root() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("hostname");
    fs::write(&path, "old-name\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let before = snapshot(dir.path());
    let p =
        plan(Strategy::File(path.clone()), "db-02.example.net").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snapshot(dir.path()), before, "planning changed the disk");
    assert!(p.outcome.changed);
    assert_eq!(
        p.outcome.msg,
        "would change the hostname from `old-name` to `db-02.example.net`"
    );
    let diff = &p.outcome.diffs[0].text;
    assert!(
        diff.contains("-hostname = old-name\n") && diff.contains("+hostname = db-02.example.net\n"),
        "{diff}"
    );
    assert_eq!(
        p.outcome.data["ansible_facts"]["ansible_hostname"],
        json!("db-02")
    );
    let action = p.action.unwrap_or_else(|| panic!("no action"));
    let o = action
        .apply(&h.ctx(false))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.changed);
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        "db-02.example.net\n"
    );
    let again =
        plan(Strategy::File(path.clone()), "db-02.example.net").unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.outcome.changed && again.action.is_none());
    // A missing file reads as the empty name, and is created.
    let missing = dir.path().join("none");
    let p = plan(Strategy::File(missing.clone()), "x").unwrap_or_else(|e| panic!("{e}"));
    assert!(p.outcome.diffs[0].text.contains("-hostname = \n"));
}

/// On this machine: the name it has is no change; another name is a plan that check mode
/// does not carry out (the host's name is never changed by the tests).
#[test]
fn planning_on_this_host_changes_nothing() {
    let h = Harness::new();
    let current = fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|e| panic!("cannot read /etc/hostname: {e}"));
    let kernel_before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let same = h.check(&Hostname, json!({"name": current}));
    assert!(!same.outcome.changed, "{}", same.outcome.msg);
    let other = h.check(&Hostname, json!({"name": "drtest-other-name"}));
    assert!(other.outcome.changed && other.action.is_some());
    let diff = &other.outcome.diffs[0].text;
    assert!(diff.contains(&format!("-hostname = {current}\n")), "{diff}");
    assert!(diff.contains("+hostname = drtest-other-name\n"), "{diff}");
    assert_eq!(
        fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_owned())
            .ok(),
        Some(current)
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
        kernel_before
    );
}

#[test]
fn refused_strategies() {
    let h = Harness::new();
    let e = h.check_err(&Hostname, json!({"name": "x", "use": "redhat"}));
    assert!(e.contains("`use: redhat` is not supported by dr"), "{e}");
    let e = h.check_err(&Hostname, json!({"name": "x", "use": "generic"}));
    assert!(e.contains("implements nothing"), "{e}");
    let e = h.check_err(&Hostname, json!({"name": "x", "use": "nope"}));
    assert!(e.contains("value of use must be one of"), "{e}");
}

#[test]
fn fqdn_from_hosts() {
    let hosts = "127.0.0.1 localhost\n127.0.1.1 vm.example.net vm # me\n";
    assert_eq!(fqdn(hosts, "vm"), "vm.example.net");
    assert_eq!(fqdn(hosts, "other"), "other");
    // The address's first line answers, as a reverse look-up does.
    assert_eq!(
        fqdn("127.0.0.1 localhost\n127.0.0.1 vm\n", "vm"),
        "localhost"
    );
}
