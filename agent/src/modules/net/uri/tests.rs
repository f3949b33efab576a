use std::sync::Arc;

use serde_json::json;

use super::Uri;
use crate::modules::http::testserver::{Seen, Server};
use crate::modules::testutil::Harness;

/// An HTTP/1.1 server on 127.0.0.1 answering by path; its requests as it saw them.
fn server() -> (String, Server) {
    let server = Server::http(Arc::new(|seen: &Seen| {
        let reply = match seen.path.as_str() {
            "/healthz" => {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}"
            }
            "/chunked" => {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            }
            "/old" => "HTTP/1.1 301 Moved\r\nLocation: /healthz\r\nContent-Length: 0\r\n\r\n",
            "/down" => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown",
            _ => "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        };
        reply.as_bytes().to_vec()
    }));
    (server.base.clone(), server)
}

#[test]
fn get_never_changes() {
    let (base, seen) = server();
    let h = Harness::new();
    let args = json!({"url": format!("{base}/healthz"), "return_content": true});
    let o = h.apply(&Uri, args);
    assert!(!o.changed && !o.failed, "{}", o.msg);
    assert_eq!(o.data["status"], json!(200));
    assert_eq!(o.data["json"], json!({"status": "ok"}));
    assert_eq!(o.data["content"], json!("{\"status\":\"ok\"}"));
    assert_eq!(o.data["msg"], json!("OK (15 bytes)"));
    assert_eq!(o.data["content_type"], json!("application/json"));
    assert_eq!(o.data["content_length"], json!("15"));
    assert_eq!(seen.requests().len(), 1);
}

#[test]
fn unexpected_status_fails_with_ansibles_message() {
    let (base, _server) = server();
    let h = Harness::new();
    let o = h.apply(&Uri, json!({"url": format!("{base}/down")}));
    assert!(o.failed);
    assert_eq!(o.data["status"], json!(503));
    assert!(
        o.msg.starts_with("Status code was 503 and not [200]"),
        "{}",
        o.msg
    );
    let o = h.apply(
        &Uri,
        json!({"url": format!("{base}/down"), "status_code": [200, 503]}),
    );
    assert!(!o.failed, "{}", o.msg);
}

#[test]
fn post_sends_json_and_changes_nothing() {
    let (base, seen) = server();
    let h = Harness::new();
    let args = json!({
        "url": format!("{base}/api"), "method": "post", "body_format": "json",
        "body": {"n": 1}, "status_code": "201", "user": "u", "password": "p",
        "force_basic_auth": true,
    });
    let o = h.apply(&Uri, args);
    assert!(!o.changed && !o.failed, "{}", o.msg);
    let seen = seen.requests();
    let Seen {
        line,
        headers,
        body,
        ..
    } = &seen[0];
    assert_eq!(line, "POST /api HTTP/1.1");
    assert_eq!(body, "{\"n\": 1}");
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("authorization").as_deref(), Some("Basic dTpw"));
}

#[test]
fn check_mode_skips_the_task_and_sends_nothing() {
    let (base, seen) = server();
    let h = Harness::new();
    for method in ["GET", "HEAD", "POST"] {
        let plan = h.check(
            &Uri,
            json!({"url": format!("{base}/api"), "method": method}),
        );
        assert!(plan.action.is_none() && plan.outcome.skipped, "{method}");
        assert_eq!(
            plan.outcome.msg,
            "This action (uri) does not support check mode."
        );
    }
    let dest = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dest.path().join("out");
    let plan = h.check(
        &Uri,
        json!({"url": format!("{base}/healthz"), "dest": file}),
    );
    assert!(plan.outcome.skipped && !file.exists());
    assert!(seen.requests().is_empty());
}

#[test]
fn redirects_and_chunked_bodies() {
    let (base, _server) = server();
    let h = Harness::new();
    let o = h.apply(&Uri, json!({"url": format!("{base}/old")}));
    assert!(
        !o.failed && o.data["redirected"] == json!(true),
        "{}",
        o.msg
    );
    let o = h.apply(
        &Uri,
        json!({"url": format!("{base}/chunked"), "return_content": "yes"}),
    );
    assert_eq!(o.data["content"], json!("hello"));
}

#[test]
fn connection_refused_is_a_failed_result_for_until_and_other_schemes_are_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::new();
    let o = h.apply(
        &Uri,
        json!({"url": format!("http://u:hunter2@127.0.0.1:{port}/"), "timeout": 2}),
    );
    assert!(o.failed);
    assert_eq!(o.data["status"], json!(-1));
    assert!(o.msg.contains("cannot connect"), "{}", o.msg);
    assert!(!o.data["url"].to_string().contains("hunter2"));
    let e = h.check_err(&Uri, json!({"url": "ftp://u:pw@example.com/"}));
    assert!(
        e.contains("only http://, https:// and file://") && !e.contains("pw@"),
        "{e}"
    );
    assert!(
        h.check_err(&Uri, json!({"url": "http://x/", "methd": "GET"}))
            .contains("unknown field")
    );
}

mod https {
    use std::sync::Arc;

    use serde_json::json;

    use super::super::Uri;
    use crate::modules::http::testserver::{Handler, Pki, Server, reply};
    use crate::modules::testutil::Harness;

    fn health() -> Handler {
        Arc::new(|_| {
            reply(
                "200 OK",
                &[("Content-Type", "application/json")],
                b"{\"status\":\"ok\"}",
            )
        })
    }

    fn setup(require_client: bool) -> (tempfile::TempDir, Pki, Server) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pki = Pki::new(dir.path());
        let server = Server::https(pki.server_config(require_client), health());
        (dir, pki, server)
    }

    #[test]
    fn get_over_https_trusting_the_ca_of_ca_path() {
        let (_dir, pki, server) = setup(false);
        let h = Harness::new();
        let args = json!({"url": format!("{}/healthz", server.base), "ca_path": pki.ca});
        let o = h.apply(&Uri, args);
        assert!(!o.failed && !o.changed, "{}", o.msg);
        assert_eq!(o.data["status"], json!(200));
        assert_eq!(o.data["json"], json!({"status": "ok"}));
        // By name too: the certificate is for `localhost` and `127.0.0.1`.
        let by_name = server.base.replace("127.0.0.1", "localhost");
        let o = h.apply(&Uri, json!({"url": by_name, "ca_path": pki.ca}));
        assert!(!o.failed, "{}", o.msg);
    }

    #[test]
    fn an_untrusted_certificate_fails_clearly() {
        let (_dir, pki, server) = setup(false);
        let h = Harness::new();
        // Not in the host's CA store.
        let o = h.apply(&Uri, json!({"url": server.base}));
        assert!(o.failed);
        assert_eq!(o.data["status"], json!(-1));
        assert!(
            o.msg.starts_with("Status code was -1 and not [200]: Request failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"),
            "{}",
            o.msg
        );
        assert!(
            o.msg.contains("ca_path") && o.msg.contains("validate_certs"),
            "{}",
            o.msg
        );
        // `ca_path` replaces the store: another CA does not vouch for this server.
        let o = h.apply(&Uri, json!({"url": server.base, "ca_path": pki.other_ca}));
        assert!(
            o.failed && o.msg.contains("CERTIFICATE_VERIFY_FAILED"),
            "{}",
            o.msg
        );
        // Nor is the certificate valid for another name.
        let o = h.apply(
            &Uri,
            json!({"url": server.base.replace("127.0.0.1", "127.0.0.2"), "ca_path": pki.ca}),
        );
        assert!(o.failed, "{}", o.msg);
    }

    #[test]
    fn ssl_cert_file_of_the_tasks_environment_is_trusted_too() {
        let (_dir, pki, server) = setup(false);
        let mut h = Harness::new();
        h.environment
            .push(("SSL_CERT_FILE".into(), pki.ca.display().to_string()));
        let o = h.apply(&Uri, json!({"url": server.base}));
        assert!(!o.failed, "{}", o.msg);
    }

    #[test]
    fn validate_certs_false_accepts_any_certificate() {
        let (_dir, _pki, server) = setup(false);
        let h = Harness::new();
        let o = h.apply(&Uri, json!({"url": server.base, "validate_certs": "no"}));
        assert!(!o.failed, "{}", o.msg);
        assert_eq!(o.data["status"], json!(200));
    }

    #[test]
    fn client_certificates_from_one_or_two_files() {
        let (dir, pki, server) = setup(true);
        let h = Harness::new();
        let o = h.apply(&Uri, json!({"url": server.base, "ca_path": pki.ca}));
        assert!(
            o.failed,
            "a server requiring a client certificate answered without one"
        );
        let o = h.apply(
            &Uri,
            json!({"url": server.base, "ca_path": pki.ca,
                   "client_cert": pki.client_cert, "client_key": pki.client_key}),
        );
        assert!(!o.failed, "{}", o.msg);
        let o = h.apply(
            &Uri,
            json!({"url": server.base, "ca_path": pki.ca, "client_cert": pki.client_combined}),
        );
        assert!(!o.failed, "{}", o.msg);
        let o = h.apply(
            &Uri,
            json!({"url": server.base, "ca_path": pki.ca, "client_cert": pki.client_cert}),
        );
        assert!(
            o.failed && o.msg.contains("holds no private key"),
            "{}",
            o.msg
        );
        let stranger = dir.path().join("stranger.key");
        let key = rcgen::KeyPair::generate()
            .map(|k| k.serialize_pem())
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&stranger, key).unwrap_or_else(|e| panic!("{e}"));
        let o = h.apply(
            &Uri,
            json!({"url": server.base, "ca_path": pki.ca,
                   "client_cert": pki.client_cert, "client_key": stranger}),
        );
        assert!(
            o.failed && o.msg.contains("cannot be used with its key"),
            "{}",
            o.msg
        );
        let o = h.apply(
            &Uri,
            json!({"url": server.base, "ca_path": dir.path().join("missing.pem")}),
        );
        assert!(
            o.failed && o.msg.contains("`ca_path`: cannot read"),
            "{}",
            o.msg
        );
    }
}

mod exchange;
