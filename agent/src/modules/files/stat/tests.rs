//! `stat` against real files: the keys Ansible reports, links followed or not, and no
//! change ever (check mode and apply alike leave the tree as it was).

use std::os::unix::fs::{PermissionsExt, symlink};

use serde_json::{Value as Json, json};

use super::{Stat, realpath};
use crate::modules::testutil::{Harness, snapshot};

fn stat(h: &Harness, args: Json) -> Json {
    let plan = h.check(&Stat, args);
    assert!(!plan.outcome.changed && plan.action.is_none());
    assert!(!plan.outcome.failed, "{}", plan.outcome.msg);
    plan.outcome.data["stat"].clone()
}

#[test]
fn a_regular_file_has_ansibles_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("f.txt");
    std::fs::write(&f, "hello\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o4750))
        .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let st = stat(&h, json!({"path": f.display().to_string()}));
    assert_eq!(st["exists"], json!(true));
    assert_eq!(st["path"], json!(f.display().to_string()));
    assert_eq!(st["mode"], json!("4750"));
    assert_eq!(
        (&st["isreg"], &st["isdir"], &st["islnk"]),
        (&json!(true), &json!(false), &json!(false))
    );
    assert_eq!(st["size"], json!(6));
    assert_eq!(
        st["checksum"],
        json!("f572d396fae9206628714fb2ce00f72e94f2258f")
    );
    assert_eq!(
        (&st["isuid"], &st["xgrp"], &st["roth"]),
        (&json!(true), &json!(true), &json!(false))
    );
    assert_eq!(st["pw_name"], json!("root"));
    assert_eq!(st["readable"], json!(true));
    assert!(st["mtime"].as_f64().is_some_and(|t| t > 1.0e9), "{st}");
    assert_eq!(st["mimetype"], json!("text/plain"));
    assert_eq!(st["charset"], json!("us-ascii"));
    assert!(st["attributes"].is_array() && st.get("lnk_source").is_none());
    for key in [
        "uid",
        "gid",
        "inode",
        "dev",
        "nlink",
        "blocks",
        "block_size",
    ] {
        assert!(st[key].is_u64(), "{key}: {st}");
    }

    let sha256 = stat(
        &h,
        json!({"path": f.display().to_string(), "checksum_algorithm": "sha256", "get_mime": false, "get_attributes": "no"}),
    );
    assert_eq!(
        sha256["checksum"],
        json!("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
    );
    assert!(sha256.get("mimetype").is_none() && sha256.get("attributes").is_none());
    let md5 = stat(
        &h,
        json!({"path": f.display().to_string(), "checksum": "md5"}),
    );
    assert_eq!(md5["checksum"], json!("b1946ac92492d2347c6235b4d2611184"));
    let none = stat(
        &h,
        json!({"path": f.display().to_string(), "get_checksum": false}),
    );
    assert!(none.get("checksum").is_none());
}

#[test]
fn links_are_described_or_followed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let real = realpath(dir.path());
    std::fs::create_dir(dir.path().join("d")).unwrap_or_else(|e| panic!("{e}"));
    symlink("d", dir.path().join("l")).unwrap_or_else(|e| panic!("{e}"));
    symlink("missing/x", dir.path().join("dangling")).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let path = |n: &str| dir.path().join(n).display().to_string();

    let link = stat(&h, json!({"path": path("l")}));
    assert_eq!(
        (&link["islnk"], &link["isdir"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(link["lnk_target"], json!("d"));
    assert_eq!(
        link["lnk_source"],
        json!(real.join("d").display().to_string())
    );
    assert_eq!(link["mode"], json!("0777"));

    let followed = stat(&h, json!({"path": path("l"), "follow": true}));
    assert_eq!(
        (&followed["islnk"], &followed["isdir"]),
        (&json!(false), &json!(true))
    );
    assert!(followed.get("lnk_source").is_none() && followed.get("checksum").is_none());

    let dangling = stat(&h, json!({"path": path("dangling")}));
    assert_eq!(
        dangling["lnk_source"],
        json!(real.join("missing/x").display().to_string())
    );
    assert_eq!(dangling["readable"], json!(false));
    assert_eq!(
        stat(&h, json!({"path": path("dangling"), "follow": true})),
        json!({"exists": false})
    );
}

#[test]
fn a_missing_path_only_does_not_exist_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("f"), "x").unwrap_or_else(|e| panic!("{e}"));
    let before = snapshot(dir.path());
    let h = Harness::new();
    let missing = json!({"path": dir.path().join("nope").display().to_string()});
    assert_eq!(stat(&h, missing.clone()), json!({"exists": false}));
    let present = json!({"path": dir.path().join("f").display().to_string()});
    for _ in 0..2 {
        for args in [&missing, &present] {
            let out = h.apply(&Stat, args.clone());
            assert!(!out.changed && !out.failed, "{}", out.msg);
        }
    }
    assert_eq!(snapshot(dir.path()), before, "stat changed the tree");
}

#[test]
fn errors_name_the_module_or_the_path() {
    let h = Harness::new();
    let e = h.check_err(
        &Stat,
        json!({"path": "/etc", "checksum_algorithm": "crc32"}),
    );
    assert!(
        e.starts_with("invalid arguments for module `stat`: unknown variant `crc32`"),
        "{e}"
    );
    let e = h.check_err(&Stat, json!({"follow": true}));
    assert!(e.contains("missing required arguments: path"), "{e}");
    let e = h.check_err(&Stat, json!({"path": "/etc", "get_mime": "perhaps"}));
    assert!(e.contains("expected a boolean"), "{e}");
    let plan = h.check(&Stat, json!({"path": "/etc/passwd/x"}));
    assert!(plan.outcome.failed);
    assert_eq!(
        plan.outcome.msg,
        "cannot stat `/etc/passwd/x`: Not a directory"
    );
}
