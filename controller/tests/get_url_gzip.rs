//! `get_url`'s `decompress` against the oracle: a server answering with a gzip-encoded body
//! (`Content-Encoding: gzip`, as httpbin's `/gzip` that ansible-core's `get_url` target
//! fetches). By default the file holds the decoded body; with `decompress: false` the bytes
//! as sent. Results and file contents must be Ansible's.
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use serde_json::Value as Json;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// Serves `{"gzipped": true}` gzip-encoded at any path; says its port first.
const SERVER: &str = r#"import gzip, http.server
BODY = gzip.compress(b'{"gzipped": true}\n', mtime=0)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("Serving HTTP on 127.0.0.1 port", s.server_port, flush=True)
s.serve_forever()
"#;

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - get_url: {url: "{{ base }}/gzip", dest: "{{ work }}/plain.json"}
      register: r1
    - get_url: {url: "{{ base }}/gzip", dest: "{{ work }}/raw.json.gz", decompress: false}
      register: r2
    - slurp: {src: "{{ work }}/plain.json"}
      register: plain
    - slurp: {src: "{{ work }}/raw.json.gz"}
      register: raw
    - copy:
        content: "{{ [r1, r2, {'plain': plain.content, 'raw': raw.content}] | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &Path, out: &str, work: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    let text = text.replace(&work.display().to_string(), "WORK");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn get_url_decodes_gzip_unless_decompress_is_false_as_ansible() {
    let dir = util::server_oracle::run_both(
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
        ],
        |_| Vec::new(),
    );
    let ansible = results(dir.path(), "ansible.json", &dir.path().join("work-ansible"));
    let dr = results(dir.path(), "dr.json", &dir.path().join("work-dr"));
    let differences =
        util::result_differences(&ansible, &dr, &["elapsed", "src", "invocation"], &[]);
    assert!(
        differences.is_empty(),
        "dr's get_url differs from ansible's:\n{}\nansible: {}\ndr: {}",
        differences.join("\n"),
        serde_json::to_string_pretty(&ansible).unwrap_or_default(),
        serde_json::to_string_pretty(&dr).unwrap_or_default()
    );
    // The decoded body, base64 of `{"gzipped": true}\n`.
    assert_eq!(ansible[2]["plain"], "eyJnemlwcGVkIjogdHJ1ZX0K");
}
