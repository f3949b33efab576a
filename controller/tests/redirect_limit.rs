//! How many redirects `get_url` and `uri` follow, against the oracle: a server (Python, on
//! 127.0.0.1) where `/r/N` redirects to `/r/N-1` and `/r/0` answers. Ten are followed, as
//! urllib's `HTTPRedirectHandler` (ansible-core's `get_url` target fetches httpbin's
//! `/redirect/6`); the eleventh is not, and the request fails with the redirect's status.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use serde_json::Value as Json;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// `/r/N`: a 302 to `/r/N-1`, and `/r/0` a 200; says its port first.
const SERVER: &str = r#"import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1])
        if n > 0:
            self.send_response(302)
            self.send_header("Location", "/r/%d" % (n - 1))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"end")
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("Serving HTTP on 127.0.0.1 port", s.server_port, flush=True)
s.serve_forever()
"#;

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - get_url: {url: "{{ base }}/r/6", dest: "{{ work }}/six.txt"}
      register: r1
    - get_url: {url: "{{ base }}/r/10", dest: "{{ work }}/ten.txt"}
      register: r2
    - get_url: {url: "{{ base }}/r/11", dest: "{{ work }}/eleven.txt"}
      register: r3
      ignore_errors: true
    - uri: {url: "{{ base }}/r/10"}
      register: r4
    - uri: {url: "{{ base }}/r/11"}
      register: r5
      ignore_errors: true
    - copy:
        content: "{{ [r1.failed, r1.status_code, r2.failed, r3.failed, r3.status_code,
                      r4.failed, r4.status, r4.url, r5.failed, r5.status] | to_json }}"
        dest: "{{ out }}"
"#;

use util::server_oracle::results;

#[test]
fn ten_redirects_are_followed_as_urllib_follows_them() {
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
    assert_eq!(dr, ansible, "dr differs from ansible");
    assert_eq!(
        (&ansible[0], &ansible[1], &ansible[2], &ansible[3]),
        (
            &Json::from(false),
            &Json::from(200),
            &Json::from(false),
            &Json::from(true)
        )
    );
}
