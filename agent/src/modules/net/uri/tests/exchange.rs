//! `dest`, `src`, cookies, Digest challenges and reason phrases against a local server.

use std::sync::Arc;

use serde_json::json;

use super::super::Uri;
use crate::modules::http::testserver::{Seen, Server};
use crate::modules::testutil::Harness;

fn server() -> Server {
    Server::http(Arc::new(|seen: &Seen| {
        let reply = match seen.path.as_str() {
            "/cache" if seen.header("if-modified-since").is_some() => {
                "HTTP/1.1 304 NOT MODIFIED\r\nContent-Length: 0\r\n\r\n".to_owned()
            }
            "/cache" => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh".to_owned(),
            "/cookies" => "HTTP/1.1 200 OK\r\nSet-Cookie: Foo=bar; Path=/\r\n\
                           Set-Cookie: Baz=qux\r\nContent-Length: 0\r\n\r\n"
                .to_owned(),
            "/download/" => "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; \
                             filename=\"named.json\"\r\nContent-Length: 2\r\n\r\n{}"
                .to_owned(),
            "/digest" => match seen.header("authorization") {
                Some(a) if a.starts_with("Digest username=\"user\"") => {
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned()
                }
                _ => "HTTP/1.1 401 UNAUTHORIZED\r\nWWW-Authenticate: Digest realm=\"r\", \
                      nonce=\"n\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"
                    .to_owned(),
            },
            "/echo" => format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                seen.body.len(),
                seen.body
            ),
            _ => "HTTP/1.1 405 METHOD NOT ALLOWED\r\nContent-Length: 0\r\n\r\n".to_owned(),
        };
        reply.into_bytes()
    }))
}

#[test]
fn dest_is_written_unless_not_modified_and_force_asks_again() {
    let s = server();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("out");
    let h = Harness::new();
    let args = json!({"url": format!("{}/cache", s.base), "dest": file, "status_code": [200, 304]});
    let o = h.apply(&Uri, args.clone());
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("fresh")
    );
    assert_eq!(o.data["path"], json!(file.display().to_string()));
    std::fs::write(&file, "old").unwrap_or_else(|e| panic!("{e}"));
    let o = h.apply(&Uri, args.clone());
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["status"], json!(304));
    assert_eq!(o.data["msg"], json!("HTTP Error 304: NOT MODIFIED"));
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("old"));
    let mut forced = args;
    forced["force"] = json!(true);
    let o = h.apply(&Uri, forced);
    assert!(o.changed, "{}", o.msg);
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("fresh")
    );
    let seen = s.requests();
    assert_eq!(
        seen.last().and_then(|r| r.header("cache-control")),
        Some("no-cache")
    );
    // `mode` on the written file, and on a file whose content is already the answer.
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/cache", s.base), "dest": file, "force": true, "mode": "0600"}),
    );
    assert!(o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["mode"], json!("0600"));
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/cache", s.base), "dest": file, "force": true, "mode": "u=rw,g=r"}),
    );
    assert_eq!(o.data["mode"], json!("0640"), "{}", o.msg);
    // Into a directory: the name the server gives.
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/download/", s.base), "dest": dir.path()}),
    );
    assert_eq!(
        o.data["path"],
        json!(dir.path().join("named.json").display().to_string())
    );
    // A directory that is not there: nothing written, Ansible's words.
    let missing = dir.path().join("no/such/file");
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/cache", s.base), "dest": missing}),
    );
    assert!(o.failed && o.msg.contains("Could not replace"), "{}", o.msg);
}

#[test]
fn cookies_reasons_and_digest_challenges() {
    let s = server();
    let h = Harness::new();
    let o = h.apply(&Uri, json!({"url": format!("{}/cookies", s.base)}));
    assert_eq!(o.data["set_cookie"], json!("Foo=bar; Path=/, Baz=qux"));
    assert_eq!(o.data["cookies_string"], json!("Foo=bar; Baz=qux"));
    assert_eq!(o.data["cookies"], json!({"Foo": "bar", "Baz": "qux"}));
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/nope", s.base), "method": "UNKNOWN"}),
    );
    assert!(o.failed);
    assert_eq!(
        o.msg,
        "Status code was 405 and not [200]: HTTP Error 405: METHOD NOT ALLOWED"
    );
    // An error status the task expects keeps its body as `body`, as urllib's `HTTPError`.
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/nope", s.base), "status_code": 405}),
    );
    assert!(!o.failed && o.data["body"] == json!(""), "{:?}", o.data);
    let o = h.apply(&Uri, json!({"url": format!("{}/cookies", s.base)}));
    assert!(o.data.get("body").is_none());
    let o = h.apply(
        &Uri,
        json!({"url": format!("{}/digest", s.base), "user": "user", "password": "passwd"}),
    );
    assert!(!o.failed, "{}", o.msg);
    let auth: Vec<Option<String>> = s
        .requests()
        .iter()
        .filter(|r| r.path == "/digest")
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(auth.len(), 2, "the credentials answer the challenge only");
    assert!(auth[0].is_none());
}

#[test]
fn src_is_the_controller_file_or_the_hosts_and_the_password_is_masked() {
    let s = server();
    let mut h = Harness::new();
    h.add_file("pass0.json", "[\"from controller\"]");
    let url = format!("{}/echo", s.base);
    let o = h.apply(
        &Uri,
        json!({"url": url, "method": "POST", "src": "pass0.json"}),
    );
    assert_eq!(o.data["json"], json!(["from controller"]));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let local = dir.path().join("local.json");
    std::fs::write(&local, "[\"hunter2 on host\"]").unwrap_or_else(|e| panic!("{e}"));
    let o = h.apply(
        &Uri,
        json!({"url": url, "method": "POST", "src": local, "remote_src": true,
               "url_username": "u", "url_password": "hunter2"}),
    );
    assert_eq!(o.data["json"], json!(["******** on host"]));
    let o = h.apply(
        &Uri,
        json!({"url": url, "method": "POST", "src": "missing.json"}),
    );
    assert!(o.failed && o.msg.contains("missing.json"), "{}", o.msg);
    let o = h.apply(
        &Uri,
        json!({"url": url, "method": "POST", "body_format": "form-urlencoded",
               "body": {"a": "b c"}}),
    );
    assert_eq!(o.data["status"], json!(200));
    let sent = s.requests();
    let last = sent.last().map(|r| r.body.clone()).unwrap_or_default();
    assert_eq!(last, "a=b+c");
    let agent = |s: &Server| {
        s.requests()
            .last()
            .and_then(|r| r.header("user-agent").map(str::to_owned))
    };
    h.apply(&Uri, json!({"url": url}));
    assert_eq!(agent(&s).as_deref(), Some("ansible-httpget"));
    h.apply(&Uri, json!({"url": url, "http_agent": "probe/1"}));
    assert_eq!(agent(&s).as_deref(), Some("probe/1"));
    h.apply(
        &Uri,
        json!({"url": url, "http_agent": "probe/1", "headers": {"User-Agent": "mine"}}),
    );
    assert_eq!(agent(&s).as_deref(), Some("mine"));
}

#[test]
fn the_environments_proxy_is_used_unless_use_proxy_is_false() {
    let proxy = Server::http(Arc::new(|_: &Seen| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied".to_vec()
    }));
    let mut h = Harness::new();
    h.environment
        .push(("http_proxy".into(), proxy.base.clone()));
    h.environment.push(("no_proxy".into(), "".into()));
    let url = "http://origin.invalid/x?y=1";
    let o = h.apply(&Uri, json!({"url": url, "return_content": true}));
    assert_eq!(o.data["content"], json!("proxied"), "{}", o.msg);
    let seen = proxy.requests();
    assert_eq!(
        seen.first().map(|s| s.line.as_str()),
        Some("GET http://origin.invalid/x?y=1 HTTP/1.1")
    );
    let o = h.apply(&Uri, json!({"url": url, "use_proxy": false, "timeout": 2}));
    assert!(o.failed && o.data["status"] == json!(-1), "{}", o.msg);
    assert_eq!(proxy.requests().len(), 1);
}
