use serde_json::json;

use super::{Setup, distribution, glob, memtotal_mb};
use crate::modules::testutil::Harness;

#[test]
fn os_release_maps_to_ansible_names() {
    let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
    let d: Vec<(&str, String)> = distribution(debian);
    assert!(d.contains(&("distribution", "Debian".into())));
    assert!(d.contains(&("distribution_major_version", "12".into())));
    assert!(d.contains(&("distribution_release", "bookworm".into())));
    assert!(d.contains(&("os_family", "Debian".into())));
    let rocky = "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";
    let r = distribution(rocky);
    assert!(r.contains(&("os_family", "RedHat".into())));
    assert!(r.contains(&("distribution_major_version", "9".into())));
}

#[test]
fn meminfo_and_glob() {
    assert_eq!(
        memtotal_mb("MemTotal:       16384000 kB\nMemFree: 1 kB\n"),
        Some(16000)
    );
    assert!(glob("ansible_dist*", "ansible_distribution"));
    assert!(glob("*version", "distribution_version"));
    assert!(!glob("kernel", "kernel_version"));
}

#[test]
fn gathers_facts_for_this_host() {
    let h = Harness::new();
    let out = h.apply(&Setup, json!({}));
    assert!(!out.changed);
    assert_eq!(
        out.facts["ansible_architecture"],
        json!(std::env::consts::ARCH)
    );
    assert_eq!(out.facts["ansible_system"], json!("Linux"));
    assert!(
        out.facts["ansible_hostname"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    assert_eq!(
        out.facts["ansible_facts"]["architecture"],
        json!(std::env::consts::ARCH)
    );
    let filtered = h.apply(&Setup, json!({"filter": "ansible_kernel"}));
    let keys: Vec<&String> = filtered.facts.keys().collect();
    assert_eq!(keys, vec!["ansible_kernel", "ansible_facts"]);
}

#[test]
fn gathers_postgres_facts_of_a_debian_layout_cluster() {
    let primary = crate::modules::pgtest::Cluster::primary();
    let base = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(base.path().join("15")).unwrap();
    std::os::unix::fs::symlink(&primary.data, base.path().join("15/main")).unwrap();
    let h = crate::modules::testutil::Harness::new();
    let facts = super::postgres_in(base.path(), &h.ctx(true)).expect("postgres facts");
    assert_eq!(facts["running"], serde_json::json!(true));
    assert_eq!(facts["in_recovery"], serde_json::json!(false));
    let empty = tempfile::tempdir().unwrap();
    assert!(super::postgres_in(empty.path(), &h.ctx(true)).is_none());
}

#[test]
fn ansible_python_is_the_interpreter_modules_would_run_with() {
    let h = Harness::new();
    let out = h.apply(&Setup, json!({}));
    let python = &out.facts["ansible_python"];
    let exe = python["executable"].as_str().unwrap_or_default();
    assert!(exe.contains("python"), "{python}");
    assert_eq!(python["version"]["major"], json!(3));
    assert_eq!(python["type"], json!("cpython"));
    assert_eq!(python["version_info"][0], json!(3));
    let v = &python["version"];
    assert_eq!(
        out.facts["ansible_python_version"],
        json!(format!("{}.{}.{}", v["major"], v["minor"], v["micro"]))
    );
}
