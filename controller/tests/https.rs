//! `uri` and `get_url` over HTTPS against the oracle: a test CA and a server certificate for
//! 127.0.0.1 made here (rcgen), served by Python's `http.server` wrapped in TLS on
//! 127.0.0.1. Trusted through the task's `SSL_CERT_FILE` (how Python's `ssl`, and so
//! Ansible, takes an extra CA) or with `validate_certs: false`, both tools succeed with the
//! same results; without either, both refuse the certificate.
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
  vars:
    keys: [changed, failed, status, content, status_code, checksum_src, dest, size, msg]
  tasks:
    - uri: {url: "{{ base }}/file.txt", return_content: true}
      environment: {SSL_CERT_FILE: "{{ ca }}"}
      register: r1
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/a.txt"}
      environment: {SSL_CERT_FILE: "{{ ca }}"}
      register: r2
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/b.txt", validate_certs: false}
      register: r3
    - uri: {url: "{{ base }}/file.txt"}
      register: r4
      ignore_errors: true
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/c.txt"}
      register: r5
      ignore_errors: true
    - stat: {path: "{{ work }}/c.txt"}
      register: c
    - copy:
        content: "{{ (([r1, r2, r3] | map('dict2items') | map('selectattr', 'key', 'in', keys) | map('items2dict') | list)
                     + [r4.failed, r4.status, r5.failed, c.stat.exists]) | to_json }}"
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

/// Writes `ca.pem`, `server.pem` and `server.key` (for 127.0.0.1) into `dir`.
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

fn results(dir: &Path, out: &str, work: &Path) -> Json {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    let text = text.replace(&work.display().to_string(), "WORK");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn uri_and_get_url_over_https_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("www/file.txt", "hello over tls\n"),
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
    let base = format!("base=https://127.0.0.1:{}", server.port);
    let ca = format!("ca={}", dir.path().join("ca.pem").display());
    let args = |work: &str| {
        vec![
            "-i".to_owned(),
            "inv.yml".to_owned(),
            "site.yml".to_owned(),
            "-e".to_owned(),
            base.clone(),
            "-e".to_owned(),
            ca.clone(),
            "-e".to_owned(),
            format!("work={}", dir.path().join(work).display()),
        ]
    };
    let a = args("work-ansible");
    util::ansible_playbook_out(
        dir.path(),
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let d = args("work-dr");
    util::dr_apply_out(
        dir.path(),
        &d.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let ansible = results(dir.path(), "ansible.json", &dir.path().join("work-ansible"));
    let dr = results(dir.path(), "dr.json", &dir.path().join("work-dr"));
    assert_eq!(
        dr, ansible,
        "dr differs from ansible over https:\nansible: {ansible:#}\ndr: {dr:#}"
    );
    assert_eq!(ansible[0]["content"], "hello over tls\n");
    assert_eq!(ansible[1]["changed"], true);
    // The untrusted certificate: both fail, nothing downloaded.
    assert_eq!(ansible[3], Json::Bool(true));
    assert_eq!(ansible[4], Json::from(-1));
    assert_eq!(ansible[5], Json::Bool(true));
    assert_eq!(ansible[6], Json::Bool(false));
}
