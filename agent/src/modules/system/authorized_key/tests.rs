use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::AuthorizedKey;
use crate::modules::http::testserver::{Server, reply};
use crate::modules::testutil::{Harness, snapshot};

const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA alice@laptop";
const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB bob@desk";

fn me() -> String {
    crate::modules::accounts::users()
        .unwrap_or_default()
        .into_iter()
        .find(|u| u.uid == rustix::process::geteuid().as_raw())
        .map(|u| u.name)
        .unwrap_or_else(|| panic!("the test's user is not in /etc/passwd"))
}

fn args(path: &std::path::Path, extra: Json) -> Json {
    let mut a = json!({"user": me(), "path": path.display().to_string()});
    if let (Json::Object(a), Json::Object(e)) = (&mut a, extra) {
        a.extend(e);
    }
    a
}

fn mode(p: &std::path::Path) -> u32 {
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

#[test]
fn adds_keys_creating_the_directory_then_changes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ssh = dir.path().join(".ssh");
    let path = ssh.join("authorized_keys");
    let h = Harness::new();
    let a = args(&path, json!({"key": format!("{A}\n# a comment\n\n{B}\n")}));

    let before = snapshot(dir.path());
    let plan = h.check(&AuthorizedKey, a.clone());
    assert_eq!(snapshot(dir.path()), before, "check mode changed the disk");
    assert!(plan.outcome.changed);
    assert_eq!(
        plan.outcome.msg,
        format!("would add 2 keys in `{}`", path.display())
    );
    assert!(plan.outcome.diffs[0].text.contains(&format!("+{A}")));

    let o = h.apply(&AuthorizedKey, a.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        format!("{A}\n{B}\n")
    );
    assert_eq!((mode(&ssh), mode(&path)), (0o700, 0o600));
    let uid = rustix::process::geteuid().as_raw();
    assert_eq!(fs::metadata(&path).map(|m| m.uid()).ok(), Some(uid));
    assert_eq!(o.data["keyfile"], json!(path.display().to_string()));
    assert_eq!(o.data["exclusive"], json!(false));

    let again = h.check(&AuthorizedKey, a);
    assert!(!again.outcome.changed && again.action.is_none());
}

#[test]
fn options_and_comment_rewrite_the_key_other_lines_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("keys");
    fs::write(&path, format!("# team\n{A}\n{B}\n")).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let a = args(
        &path,
        json!({"key": A, "key_options": "no-pty,from=\"10.0.0.1\"", "comment": "alice",
               "manage_dir": false}),
    );
    let o = h.apply(&AuthorizedKey, a.clone());
    assert_eq!(o.msg, format!("updated 1 key in `{}`", path.display()));
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        format!(
            "# team\n{B}\nno-pty,from=\"10.0.0.1\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA alice\n"
        )
    );
    assert!(!h.check(&AuthorizedKey, a).outcome.changed);
}

#[test]
fn absent_and_exclusive() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("keys");
    fs::write(&path, format!("# team\n{A}\n{B}\n")).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let rm = args(&path, json!({"key": B, "state": "absent"}));
    h.apply(&AuthorizedKey, rm.clone());
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        format!("# team\n{A}\n")
    );
    assert!(!h.check(&AuthorizedKey, rm).outcome.changed);

    let only = args(&path, json!({"key": B, "exclusive": true}));
    let o = h.apply(&AuthorizedKey, only.clone());
    assert_eq!(
        o.msg,
        format!("added 1 key, removed 2 keys in `{}`", path.display())
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        format!("{B}\n")
    );
    assert!(!h.check(&AuthorizedKey, only).outcome.changed);
}

#[test]
fn follow_writes_through_a_link_otherwise_replaces_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    fs::write(&real, "").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&real, &link).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    h.apply(
        &AuthorizedKey,
        args(
            &link,
            json!({"key": A, "follow": true, "manage_dir": false}),
        ),
    );
    assert_eq!(
        fs::read_to_string(&real).unwrap_or_default(),
        format!("{A}\n")
    );
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.is_symlink()));
    h.apply(
        &AuthorizedKey,
        args(&link, json!({"key": B, "manage_dir": false})),
    );
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.is_file()));
    assert_eq!(
        fs::read_to_string(&real).unwrap_or_default(),
        format!("{A}\n")
    );
}

#[test]
fn keys_from_a_url() {
    let server = Server::http(Arc::new(|seen| {
        if seen.path == "/alice.keys" {
            reply("200 OK", &[], format!("{A}\n").as_bytes())
        } else {
            reply("404 Not Found", &[], b"")
        }
    }));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("keys");
    let h = Harness::new();
    let url = format!("{}/alice.keys", server.base);
    let o = h.apply(
        &AuthorizedKey,
        args(&path, json!({"key": url, "manage_dir": false})),
    );
    assert!(o.changed, "{}", o.msg);
    assert_eq!(
        fs::read_to_string(&path).unwrap_or_default(),
        format!("{A}\n")
    );
    let missing = format!("{}/nobody.keys", server.base);
    let e = h.check_err(&AuthorizedKey, args(&path, json!({"key": missing})));
    assert_eq!(e, format!("Error getting key from: {missing}"));
}

#[test]
fn refusals() {
    let h = Harness::new();
    let e = h.check_err(
        &AuthorizedKey,
        json!({"user": me(), "key": "not a key", "path": "/nonexistent/k"}),
    );
    assert_eq!(e, "invalid key specified: not a key");
    let e = h.check_err(
        &AuthorizedKey,
        json!({"user": "drtest-nosuchuser", "key": A}),
    );
    assert!(
        e.contains("Either user must exist") || e.contains("Failed to lookup user"),
        "{e}"
    );
    let e = h.check_err(
        &AuthorizedKey,
        json!({"user": me(), "key": A, "unique": true}),
    );
    assert!(e.contains("unique"), "{e}");
}
