//! A body cut short, against the oracle: a server (Python, on 127.0.0.1) that says
//! `Content-Length: 100`, sends 4 bytes and closes, as the `incompleteRead` page of
//! ansible-core's `get_url` target. `get_url` fails with Ansible's `Incomplete read, ...`
//! message and leaves no file.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use serde_json::Value as Json;
use util::write_tree;

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

fn results(dir: &Path, out: &str) -> Json {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn a_body_cut_short_fails_as_an_incomplete_read() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
            ("work-ansible/.keep", ""),
            ("work-dr/.keep", ""),
        ],
    );
    let server = util::PyServer::start(&["-u".as_ref(), dir.path().join("server.py").as_os_str()]);
    let base = format!("base=http://127.0.0.1:{}", server.port);
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
    assert_eq!(dr, ansible, "dr differs from ansible");
    assert_eq!(ansible[0], true);
}
