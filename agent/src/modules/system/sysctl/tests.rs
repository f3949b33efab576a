use std::fs;

use serde_json::{Value as Json, json};

use super::{Sysctl, parse_value, same_value, stderr_failed};
use crate::modules::testutil::{Harness, snapshot};

fn read(p: &std::path::Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

fn args(path: &std::path::Path, extra: Json) -> Json {
    let mut a = json!({"sysctl_file": path.display().to_string(), "reload": false});
    if let (Json::Object(a), Json::Object(e)) = (&mut a, extra) {
        a.extend(e);
    }
    a
}

#[test]
fn values_as_the_module_reads_them() {
    assert_eq!(parse_value(Some("Yes")), "1");
    assert_eq!(parse_value(Some("off")), "0");
    assert_eq!(parse_value(Some(" 4096 ")), "4096");
    assert_eq!(parse_value(None), "");
    assert!(same_value(
        Some("4096\t16384 4194304\n"),
        "4096 16384 4194304"
    ));
    assert!(!same_value(Some("1 2"), "1"));
    assert!(!same_value(None, "1"));
    assert!(stderr_failed(
        "x\nsysctl: setting key \"net.x\": Invalid argument\n"
    ));
    assert!(!stderr_failed(
        "sysctl: setting key \"net.x\": Permission denied"
    ));
}

#[test]
fn adds_edits_and_removes_keys_in_a_file_idempotently() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("sysctl.conf");
    fs::write(
        &path,
        "# tuning\nvm.swappiness = 60\nkernel.panic=1\nvm.swappiness=70\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();

    // Check mode: the plan and diff, nothing on disk.
    let set = args(&path, json!({"name": "vm.swappiness", "value": "5"}));
    let before = snapshot(dir.path());
    let plan = h.check(&Sysctl, set.clone());
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    assert!(plan.outcome.changed);
    let diff = &plan.outcome.diffs[0].text;
    assert!(
        diff.contains("-vm.swappiness = 60") && diff.contains("+vm.swappiness=5"),
        "{diff}"
    );

    // Apply: the first assignment rewritten, the duplicate dropped, as the module does.
    let o = h.apply(&Sysctl, set.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&path), "# tuning\nvm.swappiness=5\nkernel.panic=1\n");
    assert!(!h.check(&Sysctl, set).outcome.changed);

    // A new key goes at the end; `val` and `key` aliases; booleans are 1/0.
    let add = args(&path, json!({"key": "net.ipv4.ip_forward", "val": true}));
    h.apply(&Sysctl, add.clone());
    assert_eq!(
        read(&path),
        "# tuning\nvm.swappiness=5\nkernel.panic=1\nnet.ipv4.ip_forward=1\n"
    );
    assert!(!h.check(&Sysctl, add).outcome.changed);

    // Absent removes it; absent again is no change.
    let rm = args(&path, json!({"name": "kernel.panic", "state": "absent"}));
    h.apply(&Sysctl, rm.clone());
    assert_eq!(
        read(&path),
        "# tuning\nvm.swappiness=5\nnet.ipv4.ip_forward=1\n"
    );
    let again = h.check(&Sysctl, rm);
    assert!(!again.outcome.changed && again.action.is_none());
}

#[test]
fn creates_a_missing_file_and_sets_its_mode() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("99-dr.conf");
    let h = Harness::new();
    let a = args(
        &path,
        json!({"name": "vm.swappiness", "value": "10", "mode": "0600"}),
    );
    h.apply(&Sysctl, a.clone());
    assert_eq!(read(&path), "vm.swappiness=10\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o600);
    assert!(!h.check(&Sysctl, a).outcome.changed);
    // Absent from a missing file: nothing to do, nothing created.
    let gone = dir.path().join("none.conf");
    let p = h.check(
        &Sysctl,
        args(&gone, json!({"name": "vm.x", "state": "absent"})),
    );
    assert!(!p.outcome.changed && !gone.exists());
}

/// `sysctl_set` with the value the kernel already has: no change, nothing set. The
/// machine's settings are never changed by the tests.
#[test]
fn sysctl_set_to_the_live_value_changes_nothing() {
    let live = std::process::Command::new("sysctl")
        .args(["-n", "vm.swappiness"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|e| panic!("cannot run sysctl: {e}"));
    assert!(!live.is_empty(), "sysctl -n vm.swappiness printed nothing");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("sysctl.conf");
    fs::write(&path, format!("vm.swappiness={live}\n")).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    // With `reload: true` too: the file and the kernel agree, so nothing is reloaded.
    let a = json!({"name": "vm.swappiness", "value": live, "sysctl_set": true,
                   "reload": true, "sysctl_file": path.display().to_string()});
    let plan = h.check(&Sysctl, a);
    assert!(
        !plan.outcome.changed && plan.action.is_none(),
        "{}",
        plan.outcome.msg
    );
}

#[test]
fn refusals() {
    let h = Harness::new();
    let e = h.check_err(&Sysctl, json!({"name": "vm.swappiness"}));
    assert!(e.contains("missing: value"), "{e}");
    let e = h.check_err(&Sysctl, json!({"name": " ", "value": "1"}));
    assert!(e.contains("name cannot be blank"), "{e}");
    let e = h.check_err(&Sysctl, json!({"name": "vm.x", "value": ""}));
    assert!(e.contains("value cannot be blank"), "{e}");
    let e = h.check_err(
        &Sysctl,
        json!({"name": "vm.x", "value": "1", "seuser": "x"}),
    );
    assert!(e.contains("seuser"), "{e}");
}
