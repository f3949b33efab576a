//! `ciphers` of `get_url` and `uri` against the oracle: a TLS 1.2-only server (Python's
//! `http.server` on 127.0.0.1, an ECDSA certificate made here with rcgen) that accepts one
//! suite, ECDHE-ECDSA-AES256-GCM-SHA384. Naming it (in a list, or in a `:`-separated
//! string beside another) lets both tools in; naming only another suite fails both.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use rcgen::{CertificateParams, KeyPair};
use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  vars:
    keys: [changed, failed, status, status_code, checksum_src, content]
  tasks:
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/a.txt", validate_certs: false,
                ciphers: [ECDHE-ECDSA-AES256-GCM-SHA384]}
      register: r1
    - uri: {url: "{{ base }}/file.txt", validate_certs: false, return_content: true,
            ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"}
      register: r2
    - uri: {url: "{{ base }}/file.txt", validate_certs: false, ciphers: [ECDHE-ECDSA-AES128-GCM-SHA256]}
      register: r3
      ignore_errors: true
    - get_url: {url: "{{ base }}/file.txt", dest: "{{ work }}/b.txt", validate_certs: false,
                ciphers: ECDHE-ECDSA-CHACHA20-POLY1305}
      register: r4
      ignore_errors: true
    - copy:
        content: "{{ [r1, r2, r3, r4] | map('dict2items') | map('selectattr', 'key', 'in', keys)
                     | map('items2dict') | list | to_json }}"
        dest: "{{ out }}"
"#;

/// `http.server` behind TLS 1.2 with one cipher suite (`python3 -c TLS12_SERVER CERT KEY DIR`).
const TLS12_SERVER: &str = "import functools, http.server, ssl, sys\n\
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2\n\
            ctx.set_ciphers('ECDHE-ECDSA-AES256-GCM-SHA384')\n\
            ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n\
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])\n\
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\n\
            server.socket = ctx.wrap_socket(server.socket, server_side=True)\n\
            print('port', server.server_address[1], flush=True)\n\
            server.serve_forever()\n";

fn results(dir: &Path, out: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn ciphers_offer_only_the_named_tls12_suites_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("www/file.txt", "hello over tls 1.2\n"),
            ("work-ansible/.keep", ""),
            ("work-dr/.keep", ""),
        ],
    );
    // rcgen's default key is ECDSA P-256: the server's one suite is an ECDSA one.
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
    let (cert, key, www) = (
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
        dir.path().join("www"),
    );
    let server = util::PyServer::start(&[
        "-u".as_ref(),
        "-c".as_ref(),
        TLS12_SERVER.as_ref(),
        cert.as_os_str(),
        key.as_os_str(),
        www.as_os_str(),
    ]);
    let base = format!("base=https://127.0.0.1:{}", server.port);
    let args = |work: &str| {
        let w = format!("work={}", dir.path().join(work).display());
        ["-i", "inv.yml", "site.yml", "-e", &base, "-e", &w].map(str::to_owned)
    };
    let a = args("work-ansible");
    util::ansible_playbook_out(dir.path(), &a.each_ref().map(String::as_str));
    let d = args("work-dr");
    util::dr_apply_out(dir.path(), &d.each_ref().map(String::as_str));
    let ansible = results(dir.path(), "ansible.json");
    let dr = results(dir.path(), "dr.json");
    assert_eq!(
        dr, ansible,
        "dr differs from ansible:\nansible: {ansible:#?}\ndr: {dr:#?}"
    );
    assert_eq!(ansible[0]["changed"], true);
    assert_eq!(ansible[1]["content"], "hello over tls 1.2\n");
    assert_eq!(ansible[2]["failed"], true);
    assert_eq!(ansible[3]["failed"], true);
}
