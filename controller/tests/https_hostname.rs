//! A certificate for another name, against the oracle: the server's certificate (from a CA
//! made here, trusted through the task's `SSL_CERT_FILE`) is for 127.0.0.1 and the URL says
//! `localhost`. `uri` and `get_url` both fail with OpenSSL's words as Python's `ssl` gives
//! them (`Hostname mismatch, certificate is not valid for 'localhost'.`, what ansible-core's
//! `get_url` and `uri` targets look for), nothing is downloaded; `validate_certs: false`
//! gets through.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  environment: {SSL_CERT_FILE: "{{ ca }}"}
  vars:
    want: "Hostname mismatch, certificate is not valid for 'localhost'."
  tasks:
    - uri: {url: "{{ base }}/file.txt"}
      register: r1
      ignore_errors: true
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/a.txt"}
      register: r2
      ignore_errors: true
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/b.txt", validate_certs: false}
      register: r3
    - stat: {path: "{{ work }}/a.txt"}
      register: a
    - copy:
        content: "{{ [r1.failed, r1.status, want in r1.msg, r2.failed, want in r2.msg,
                      r3.changed, a.stat.exists] | to_json }}"
        dest: "{{ out }}"
"#;

/// Python's `http.server` behind TLS on 127.0.0.1 (`python3 -c TLS_SERVER CERT KEY DIR`).
const TLS_SERVER: &str = "import functools, http.server, ssl, sys\n\
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
            ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n\
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])\n\
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\n\
            server.socket = ctx.wrap_socket(server.socket, server_side=True)\n\
            print('port', server.server_address[1], flush=True)\n\
            server.serve_forever()\n";

/// Writes `ca.pem`, `server.pem` and `server.key` (for 127.0.0.1 only) into `dir`.
fn make_pki(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dr oracle test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
}

fn results(dir: &Path, out: &str) -> Json {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn a_certificate_for_another_name_fails_in_openssls_words() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("www/file.txt", "hello\n"),
            ("work-ansible/.keep", ""),
            ("work-dr/.keep", ""),
        ],
    );
    make_pki(dir.path());
    let (cert, key, www) = (
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
        dir.path().join("www"),
    );
    let server = util::PyServer::start(&[
        "-u".as_ref(),
        "-c".as_ref(),
        TLS_SERVER.as_ref(),
        cert.as_os_str(),
        key.as_os_str(),
        www.as_os_str(),
    ]);
    let base = format!("base=https://localhost:{}", server.port);
    let ca = format!("ca={}", dir.path().join("ca.pem").display());
    let args = |work: &str| {
        let w = format!("work={}", dir.path().join(work).display());
        [
            "-i", "inv.yml", "site.yml", "-e", &base, "-e", &ca, "-e", &w,
        ]
        .map(str::to_owned)
    };
    let a = args("work-ansible");
    util::ansible_playbook_out(dir.path(), &a.each_ref().map(String::as_str));
    let d = args("work-dr");
    util::dr_apply_out(dir.path(), &d.each_ref().map(String::as_str));
    let ansible = results(dir.path(), "ansible.json");
    let dr = results(dir.path(), "dr.json");
    assert_eq!(
        ansible,
        serde_json::json!([true, -1, true, true, true, true, false])
    );
    assert_eq!(dr, ansible, "dr differs from ansible");
}
