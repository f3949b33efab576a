use std::path::Path;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::GetUrl;
use crate::modules::http::testserver::{Handler, Pki, Seen, Server, reply};
use crate::modules::testutil::Harness;

const HELLO: &[u8] = b"hello\n";
const HELLO_SHA1: &str = "f572d396fae9206628714fb2ce00f72e94f2258f";
const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
const HELLO_MD5: &str = "b1946ac92492d2347c6235b4d2611184";
/// `u:hunter2`.
const AUTH: &str = "Basic dTpodW50ZXIy";

/// A reply, without its body for HEAD (Content-Length kept).
fn answer(req: &Seen, status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let full = reply(status, headers, body);
    if req.method == "HEAD" {
        full[..full.len() - body.len()].to_vec()
    } else {
        full
    }
}

fn files() -> Handler {
    Arc::new(|req: &Seen| {
        let last_modified = ("Last-Modified", "Wed, 01 Jan 2020 00:00:00 GMT");
        match req.path.split('?').next().unwrap_or("") {
            // Honours If-Modified-Since as `python3 -m http.server` does: every `dest`
            // written by a test is newer than 2020.
            "/file.txt" if req.header("if-modified-since").is_some() => {
                answer(req, "304 Not Modified", &[], b"")
            }
            "/file.txt" => answer(req, "200 OK", &[last_modified], HELLO),
            "/nocache.txt" => answer(req, "200 OK", &[], HELLO),
            "/dl" => answer(
                req,
                "200 OK",
                &[("Content-Disposition", "attachment; filename=\"named.bin\"")],
                HELLO,
            ),
            "/sums" => answer(
                req,
                "200 OK",
                &[],
                format!("0000  other.txt\n{HELLO_SHA256}  file.txt\n").as_bytes(),
            ),
            "/secret.txt" if req.header("authorization") == Some(AUTH) => {
                answer(req, "200 OK", &[], HELLO)
            }
            "/secret.txt" => answer(
                req,
                "401 Unauthorized",
                &[("WWW-Authenticate", "Basic realm=\"dr\"")],
                b"no",
            ),
            "/short" => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhello".to_vec()
            }
            _ => answer(req, "404 Not Found", &[], b"nothing here"),
        }
    })
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every name in `dir`: a download leaves no temporary file behind.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn downloads_then_a_second_run_changes_nothing() {
    let server = Server::http(files());
    let dir = tempdir();
    let dest = dir.path().join("file.txt");
    let h = Harness::new();
    let args = json!({"url": format!("{}/file.txt", server.base), "dest": dest, "mode": "0640"});
    let o = h.apply(&GetUrl, args.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&dest), HELLO);
    assert_eq!(o.msg, "OK (6 bytes)");
    assert_eq!(o.data["status_code"], json!(200));
    assert_eq!(o.data["checksum_src"], json!(HELLO_SHA1));
    assert_eq!(o.data["checksum_dest"], Json::Null);
    assert_eq!(o.data["md5sum"], json!(HELLO_MD5));
    assert_eq!(o.data["size"], json!(6));
    assert_eq!(o.data["mode"], json!("0640"));
    assert_eq!(o.data["state"], json!("file"));
    assert_eq!(names(dir.path()), ["file.txt"]);
    let again = h.apply(&GetUrl, args.clone());
    assert!(!again.changed && !again.failed, "{}", again.msg);
    assert_eq!(again.data["status_code"], json!(304));
    // The second request was conditional on the file's mtime.
    let seen = server.requests();
    assert!(seen[1].header("if-modified-since").is_some(), "{seen:?}");
    // Check mode agrees: nothing to do.
    let plan = h.check(&GetUrl, args);
    assert!(
        !plan.outcome.changed && plan.action.is_none(),
        "{}",
        plan.outcome.msg
    );
}

#[test]
fn check_mode_sends_head_and_writes_nothing() {
    let server = Server::http(files());
    let dir = tempdir();
    let dest = dir.path().join("file.txt");
    let h = Harness::new();
    let plan = h.check(
        &GetUrl,
        json!({"url": format!("{}/nocache.txt", server.base), "dest": dest}),
    );
    assert!(
        plan.outcome.changed && plan.action.is_some(),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(plan.outcome.msg, "OK (6 bytes)");
    assert!(!dest.exists());
    assert!(names(dir.path()).is_empty());
    let methods: Vec<String> = server.requests().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["HEAD"]);
    // A missing directory fails in check mode too.
    let o = h
        .check(
            &GetUrl,
            json!({"url": format!("{}/nocache.txt", server.base), "dest": dir.path().join("no/f")}),
        )
        .outcome;
    assert!(
        o.failed && o.msg.starts_with("Destination ") && o.msg.ends_with("does not exist"),
        "{}",
        o.msg
    );
}

#[test]
fn a_checksum_mismatch_fails_and_leaves_no_dest() {
    let server = Server::http(files());
    let dir = tempdir();
    let dest = dir.path().join("file.txt");
    let h = Harness::new();
    let wrong = "0".repeat(64);
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/file.txt", server.base), "dest": dest,
               "checksum": format!("sha256:{wrong}")}),
    );
    assert!(o.failed, "{}", o.msg);
    assert!(
        o.msg
            .contains(&format!("did not match {wrong}; it was {HELLO_SHA256}.")),
        "{}",
        o.msg
    );
    assert!(!dest.exists());
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn a_matching_checksum_skips_the_download() {
    let server = Server::http(files());
    let dir = tempdir();
    let dest = dir.path().join("file.txt");
    std::fs::write(&dest, HELLO).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let args = json!({"url": format!("{}/file.txt", server.base), "dest": dest,
                      "checksum": format!("sha256:{}", HELLO_SHA256.to_uppercase())});
    let o = h.apply(&GetUrl, args.clone());
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.msg, "file already exists");
    assert!(server.requests().is_empty());
    // Attributes still apply.
    let mut with_mode = args;
    with_mode["mode"] = json!("0600");
    let plan = h.check(&GetUrl, with_mode.clone());
    assert!(plan.outcome.changed, "{}", plan.outcome.msg);
    let o = h.apply(&GetUrl, with_mode.clone());
    assert_eq!(
        (o.changed, o.msg.as_str(), &o.data["mode"]),
        (
            true,
            "file already exists but file attributes changed",
            &json!("0600")
        )
    );
    assert!(!h.apply(&GetUrl, with_mode).changed);
    // From a checksum file: the line for the URL's file name.
    let other = dir.path().join("other.txt");
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/file.txt", server.base), "dest": other,
               "checksum": format!("sha256:{}/sums", server.base)}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&other), HELLO);
}

#[test]
fn force_downloads_again_and_backup_keeps_the_old_file() {
    let server = Server::http(files());
    let dir = tempdir();
    let dest = dir.path().join("file.txt");
    std::fs::write(&dest, "old\n").unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let url = format!("{}/file.txt", server.base);
    // Not forced: the server says the file has not changed since `dest` was written.
    let o = h.apply(&GetUrl, json!({"url": url, "dest": dest}));
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&dest), b"old\n");
    let o = h.apply(
        &GetUrl,
        json!({"url": url, "dest": dest, "force": true, "backup": true}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&dest), HELLO);
    let backup = o.data["backup_file"].as_str().unwrap_or("");
    assert_eq!(read(Path::new(backup)), b"old\n");
    let seen = server.requests();
    assert_eq!(seen[1].header("cache-control"), Some("no-cache"));
    // Forced again, same content: downloaded, not replaced.
    let o = h.apply(&GetUrl, json!({"url": url, "dest": dest, "force": true}));
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["checksum_src"], o.data["checksum_dest"]);
}

#[test]
fn into_a_directory_named_by_the_server_or_the_url() {
    let server = Server::http(files());
    let dir = tempdir();
    let h = Harness::new();
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/dl", server.base), "dest": dir.path()}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    let named = dir.path().join("named.bin");
    assert_eq!(o.data["dest"], json!(named));
    assert_eq!(read(&named), HELLO);
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/nocache.txt?v=1", server.base), "dest": dir.path()}),
    );
    assert!(o.changed, "{}", o.msg);
    assert_eq!(read(&dir.path().join("nocache.txt")), HELLO);
    // Always downloaded into a directory, replaced only when different.
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/dl", server.base), "dest": dir.path()}),
    );
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(names(dir.path()), ["named.bin", "nocache.txt"]);
}

#[test]
fn basic_auth_never_shows_the_password() {
    let server = Server::http(files());
    let dir = tempdir();
    let h = Harness::new();
    let dest = dir.path().join("secret.txt");
    let url = format!("{}/secret.txt", server.base);
    let o = h.apply(
        &GetUrl,
        json!({"url": url, "dest": dest, "url_username": "u", "url_password": "hunter2"}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&dest), HELLO);
    // Sent after the server's Basic challenge, as Ansible does without force_basic_auth.
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("authorization"), None);
    let shown = |o: &crate::modules::Outcome| format!("{} {:?}", o.msg, o.data);
    assert!(!shown(&o).contains("hunter2"));
    let o = h.apply(
        &GetUrl,
        json!({"url": url, "dest": dir.path().join("x"), "username": "u", "password": "wrong-pw",
               "force_basic_auth": true}),
    );
    assert!(o.failed, "{}", o.msg);
    assert_eq!(o.msg, "Request failed");
    assert_eq!(o.data["response"], json!("HTTP Error 401: Unauthorized"));
    assert!(!shown(&o).contains("wrong-pw"));
    assert_eq!(server.requests().len(), 3, "force_basic_auth sends at once");
    let in_url = url.replace("http://", "http://u:hunter2@");
    let o = h.apply(
        &GetUrl,
        json!({"url": in_url, "dest": dir.path().join("y")}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert!(!shown(&o).contains("hunter2"), "{}", shown(&o));
    assert!(
        o.data["url"]
            .as_str()
            .unwrap_or("")
            .contains("//****:****@")
    );
}

#[test]
fn failures_leave_nothing_behind() {
    let server = Server::http(files());
    let dir = tempdir();
    let h = Harness::new();
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/missing", server.base), "dest": dir.path().join("m")}),
    );
    assert!(o.failed);
    assert_eq!(
        (o.msg.as_str(), &o.data["status_code"]),
        ("Request failed", &json!(404))
    );
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/short", server.base), "dest": dir.path().join("s")}),
    );
    assert!(o.failed, "{}", o.msg);
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/file.txt", server.base), "dest": dir.path().join("t"),
               "tmp_dest": dir.path().join("nope")}),
    );
    assert!(
        o.failed && o.msg.ends_with("nope directory does not exist."),
        "{}",
        o.msg
    );
    let tmp = tempdir();
    let o = h.apply(
        &GetUrl,
        json!({"url": format!("{}/file.txt", server.base), "dest": dir.path().join("t"),
               "tmp_dest": tmp.path()}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert!(names(tmp.path()).is_empty() && names(dir.path()) == ["t"]);
    let e = h.check_err(
        &GetUrl,
        json!({"url": "http://x/", "dest": "/tmp/x", "use_proxy": false}),
    );
    assert!(e.contains("unknown field `use_proxy`"), "{e}");
    let e = h.check_err(
        &GetUrl,
        json!({"url": "http://x/", "dest": "/tmp/x", "checksum": "sha256"}),
    );
    assert!(e.contains("<algorithm>:<checksum>"), "{e}");
}

#[test]
fn over_https_with_ca_path_or_refused_when_untrusted() {
    let dir = tempdir();
    let pki = Pki::new(dir.path());
    let server = Server::https(pki.server_config(false), files());
    let h = Harness::new();
    let dest = dir.path().join("file.txt");
    let url = format!("{}/file.txt", server.base);
    let o = h.apply(&GetUrl, json!({"url": url, "dest": dest}));
    assert!(
        o.failed && o.msg.contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        o.msg
    );
    assert!(!dest.exists());
    let o = h.apply(
        &GetUrl,
        json!({"url": url, "dest": dest, "ca_path": pki.ca}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(read(&dest), HELLO);
    let o = h.apply(
        &GetUrl,
        json!({"url": url, "dest": dir.path().join("v"), "validate_certs": false}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
}
