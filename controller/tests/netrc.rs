//! `use_netrc` of `get_url` and `uri` against the oracle: a server (Python, 127.0.0.1) that
//! answers with the Authorization header it got. With `NETRC` in the task's environment
//! naming a file with an entry for the host, its login and password are sent and replace
//! the task's own Authorization header; with `use_netrc: false`, or credentials in the task,
//! the file is not used. What each request sent must be what Ansible's sent.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use serde_json::Value as Json;
use util::write_tree;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// Answers any GET with the request's Authorization header (or `none`); says its port first.
const SERVER: &str = r#"import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.headers.get("Authorization", "none").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("Serving HTTP on 127.0.0.1 port", s.server_port, flush=True)
s.serve_forever()
"#;

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  environment:
    NETRC: "{{ netrc }}"
  tasks:
    - get_url: {url: "{{ base }}/a", dest: "{{ work }}/a.txt", headers: {Authorization: Bearer foobar}}
    - get_url: {url: "{{ base }}/b", dest: "{{ work }}/b.txt", headers: {Authorization: Bearer foobar},
                use_netrc: false}
    - get_url: {url: "{{ base }}/c", dest: "{{ work }}/c.txt", url_username: other, url_password: pw,
                force_basic_auth: true}
    - uri: {url: "{{ base }}/d", return_content: true, headers: {Authorization: Bearer foobar}}
      register: d
    - uri: {url: "{{ base }}/e", return_content: true, headers: {Authorization: Bearer foobar},
            use_netrc: false}
      register: e
    - uri: {url: "{{ base }}/f", return_content: true}
      register: f
    - copy:
        content: "{{ [lookup('file', work ~ '/a.txt'), lookup('file', work ~ '/b.txt'),
                      lookup('file', work ~ '/c.txt'), d.content, e.content, f.content] | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &Path, out: &str) -> Json {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn netrc_credentials_are_sent_as_ansible_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
            ("netrc", "machine 127.0.0.1\nlogin foo\npassword bar\n"),
            ("work-ansible/.keep", ""),
            ("work-dr/.keep", ""),
        ],
    );
    let server = util::PyServer::start(&["-u".as_ref(), dir.path().join("server.py").as_os_str()]);
    let base = format!("base=http://127.0.0.1:{}", server.port);
    let netrc = format!("netrc={}", dir.path().join("netrc").display());
    let args = |work: &str| {
        let w = format!("work={}", dir.path().join(work).display());
        [
            "-i", "inv.yml", "site.yml", "-e", &base, "-e", &netrc, "-e", &w,
        ]
        .map(str::to_owned)
    };
    let a = args("work-ansible");
    util::ansible_playbook_out(dir.path(), &a.each_ref().map(String::as_str));
    let d = args("work-dr");
    util::dr_apply_out(dir.path(), &d.each_ref().map(String::as_str));
    let ansible = results(dir.path(), "ansible.json");
    let dr = results(dir.path(), "dr.json");
    assert_eq!(dr, ansible, "what dr sent differs from what ansible sent");
    // foo:bar
    assert_eq!(ansible[0], "Basic Zm9vOmJhcg==");
    assert_eq!(ansible[1], "Bearer foobar");
}
