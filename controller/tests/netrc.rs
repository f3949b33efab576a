//! `use_netrc` of `get_url` and `uri` against the oracle: a server (Python, 127.0.0.1) that
//! answers with the Authorization header it got. With `NETRC` in the task's environment
//! naming a file with an entry for the host, its login and password are sent and replace
//! the task's own Authorization header; with `use_netrc: false`, or credentials in the task,
//! the file is not used. What each request sent must be what Ansible's sent.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

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

use util::server_oracle::results;

#[test]
fn netrc_credentials_are_sent_as_ansible_sends_them() {
    let dir = util::server_oracle::run_both(
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
            ("netrc", "machine 127.0.0.1\nlogin foo\npassword bar\n"),
        ],
        |dir| vec![format!("netrc={}", dir.join("netrc").display())],
    );
    let ansible = results(dir.path(), "ansible.json");
    let dr = results(dir.path(), "dr.json");
    assert_eq!(dr, ansible, "what dr sent differs from what ansible sent");
    // foo:bar
    assert_eq!(ansible[0], "Basic Zm9vOmJhcg==");
    assert_eq!(ansible[1], "Bearer foobar");
}
