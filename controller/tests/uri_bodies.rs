//! `uri`'s bodies, answers and results against the oracle: `form-urlencoded` (a mapping, a
//! list of pairs, a bad list), `form-multipart` (a controller file, inline content), a
//! JSON body, a Digest challenge, cookies, a reason phrase of the server's own, a
//! download into `dest`, check mode (skipped), redirects (`none`, `all` turning a POST into
//! a GET, `safe` refusing a POST's), and the result's keys (headers as keys, `cookies`,
//! `msg`, `location`, ...).
//!
//! Needs ansible-core: `tests/run` installs it into a venv and sets DR_TEST_ANSIBLE_BIN.

mod util;

use std::path::Path;

use serde_json::Value as Json;

const INVENTORY: &str = "all:\n  hosts:\n    h:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

/// `/echo`: the method, content type (boundary as `B`) and body it got, as JSON;
/// `/digest`: a Digest challenge, then `ok` for user `u`; `/cookies`: two cookies;
/// `/teapot`: 418 with its own reason phrase.
const SERVER: &str = r#"import http.server, json, re
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body, headers=(), reason=None):
        self.send_response(code, reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if m:
            body = body.replace(m.group(1), "B")
            ctype = ctype.replace(m.group(1), "B")
        if self.path == "/digest":
            auth = self.headers.get("Authorization", "")
            if auth.startswith('Digest username="u"'):
                return self.answer(200, b"ok", [("Content-Type", "text/plain")])
            return self.answer(401, b"", [("WWW-Authenticate", 'Digest realm="r", nonce="n", qop="auth"')])
        if self.path == "/cookies":
            return self.answer(200, b"", [("Set-Cookie", "A=1; Path=/"), ("Set-Cookie", "B=2")])
        if self.path == "/moved":
            return self.answer(301, b"", [("Location", "./echo")])
        if self.path == "/teapot":
            return self.answer(418, b"", reason="SHORT AND STOUT")
        out = json.dumps({"method": self.command, "ctype": ctype, "body": body}).encode()
        self.answer(200, out, [("Content-Type", "application/json"), ("Content-Disposition", 'attachment; filename="echo.json"')])
    do_GET = do_POST = do_PUT = do_any
    def version_string(self):
        return "test"
    def date_time_string(self, timestamp=None):
        return "Mon, 30 Nov 2026 00:00:00 GMT"
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("Serving HTTP on 127.0.0.1 port", s.server_port, flush=True)
s.serve_forever()
"#;

const PLAYBOOK: &str = r#"- hosts: h
  gather_facts: false
  tasks:
    - uri:
        url: "{{ base }}/echo"
        method: POST
        body_format: form-urlencoded
        body: {user: foo, password: "bar!#@ |&82$M", n: [1, 2]}
      register: r1
    - uri:
        url: "{{ base }}/echo"
        method: POST
        body_format: form-urlencoded
        body: [[a, b], [c, "d e"]]
      register: r2
    - uri:
        url: "{{ base }}/echo"
        method: POST
        body_format: form-urlencoded
        body: [foo, {bar: baz}]
      register: r3
      ignore_errors: true
    - uri:
        url: "{{ base }}/echo"
        method: PUT
        body_format: form-multipart
        body:
          file1: {filename: data.txt}
          file2: {filename: data.txt, multipart_encoding: 7or8bit}
          text: value1
          inline: {content: c, filename: fake.txt, mime_type: text/plain}
      register: r4
    - uri: {url: "{{ base }}/echo", method: POST, body_format: json, body: {a: [1, "x"]}}
      register: r5
    - uri: {url: "{{ base }}/digest", user: u, password: pw, return_content: true}
      register: r6
    - uri: {url: "{{ base }}/cookies"}
      register: r7
    - uri: {url: "{{ base }}/teapot"}
      register: r8
      ignore_errors: true
    - uri: {url: "{{ base }}/echo", dest: "{{ work }}"}
      register: r9
    - uri: {url: "{{ base }}/echo"}
      check_mode: true
      register: r10
    - uri: {url: "{{ base }}/moved", follow_redirects: none}
      register: r11
      ignore_errors: true
    - uri: {url: "{{ base }}/moved", method: POST, body: x, follow_redirects: all}
      register: r12
    - uri: {url: "{{ base }}/moved", method: POST, body: x}
      register: r13
      ignore_errors: true
    - copy:
        content: "{{ [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13] | to_json }}"
        dest: "{{ out }}"
"#;

fn results(dir: &Path, out: &str, work: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    let text = text.replace(&work.display().to_string(), "WORK");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}

#[test]
fn uri_bodies_answers_and_results_as_ansible() {
    let dir = util::server_oracle::run_both(
        &[
            ("inv.yml", INVENTORY),
            ("site.yml", PLAYBOOK),
            ("server.py", SERVER),
            ("files/data.txt", "line one\nline two\n"),
        ],
        |_| Vec::new(),
    );
    let ansible = results(dir.path(), "ansible.json", &dir.path().join("work-ansible"));
    let dr = results(dir.path(), "dr.json", &dir.path().join("work-dr"));
    // dr registers `failed: false` for a task a module skipped (r10, check mode).
    let differences = util::result_differences(
        &ansible,
        &dr,
        &["elapsed", "invocation", "exception"],
        &["failed"],
    );
    assert!(
        differences.is_empty(),
        "dr's uri differs from ansible's:\n{}\nansible: {}\ndr: {}",
        differences.join("\n"),
        serde_json::to_string_pretty(&ansible).unwrap_or_default(),
        serde_json::to_string_pretty(&dr).unwrap_or_default()
    );
    assert_eq!(
        ansible[3]["json"]["ctype"],
        "multipart/form-data; boundary=\"B\""
    );
    assert_eq!(
        ansible[9]["msg"],
        "This action (uri) does not support check mode."
    );
    assert_eq!(ansible[11]["json"]["method"], "GET");
}
