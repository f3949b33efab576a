//! `unredirected_headers` of `get_url` and `uri` against the oracle: a server (Python, on
//! 127.0.0.1) where `/start` redirects (301) to `/end`, which answers with the Authorization
//! header it got. A header named there (any case) goes with the first request only, as
//! urllib's `add_unredirected_header`; forced basic auth is such a header.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// `/start`: a 301 to `/end`; `/end`: the Authorization header (or `none`). Port first.
const SERVER: &str = r#"import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/start":
            self.send_response(301)
            self.send_header("Location", "/end")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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
  tasks:
    - get_url: {url: "{{ base }}/start", dest: "{{ work }}/a.txt", url_username: user, url_password: pw,
                force_basic_auth: true, unredirected_headers: [authorization]}
    - get_url: {url: "{{ base }}/start", dest: "{{ work }}/b.txt", url_username: user, url_password: pw,
                force_basic_auth: true}
    - get_url: {url: "{{ base }}/start", dest: "{{ work }}/c.txt", headers: {X-Other: x, Authorization: Bearer t},
                unredirected_headers: [AUTHORIZATION]}
    - uri: {url: "{{ base }}/start", return_content: true, url_username: user, url_password: pw,
            force_basic_auth: true, unredirected_headers: [Authorization]}
      register: d
    - uri: {url: "{{ base }}/start", return_content: true, headers: {Authorization: Bearer t}}
      register: e
    - copy:
        content: "{{ [lookup('file', work ~ '/a.txt'), lookup('file', work ~ '/b.txt'),
                      lookup('file', work ~ '/c.txt'), d.content, e.content] | to_json }}"
        dest: "{{ out }}"
"#;

use util::server_oracle::results;

#[test]
fn unredirected_headers_stay_with_the_first_request_as_ansible() {
    let dir = util::server_oracle::run_both(
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
        ],
        |_| Vec::new(),
    );
    let ansible = results(dir.path(), "ansible.json");
    let dr = results(dir.path(), "dr.json");
    assert_eq!(dr, ansible, "what dr sent differs from what ansible sent");
    assert_eq!(ansible[0], "none");
    assert_eq!(ansible[2], "none");
}
