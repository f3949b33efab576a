//! A body cut short, against the oracle: a server (Python, on 127.0.0.1) that says
//! `Content-Length: 100`, sends 4 bytes and closes, as the `incompleteRead` page of
//! ansible-core's `get_url` target. `get_url` fails with Ansible's `Incomplete read, ...`
//! message and leaves no file.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// Promises 100 bytes, sends 4, closes (HTTP/1.0); says its port first.
const SERVER: &str = r#"import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"ABCD")
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("Serving HTTP on 127.0.0.1 port", s.server_port, flush=True)
s.serve_forever()
"#;

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - get_url: {url: "{{ base }}/incompleteRead", dest: "{{ work }}/a.txt"}
      register: r1
      ignore_errors: true
    - stat: {path: "{{ work }}/a.txt"}
      register: a
    - copy:
        content: "{{ [r1.failed, r1.msg, a.stat.exists] | to_json }}"
        dest: "{{ out }}"
"#;

use util::server_oracle::results;

#[test]
fn a_body_cut_short_fails_as_an_incomplete_read() {
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
    assert_eq!(ansible[0], true);
}
