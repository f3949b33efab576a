//! A small builder for running the real `dr` binary in a directory, printing everything
//! about the run when an expectation fails.

#![allow(dead_code)]

pub mod pg;
pub mod server_oracle;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A `dr` invocation.
pub struct Dr {
    args: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
}

/// A finished run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    desc: String,
}

impl Dr {
    /// `dr` with these arguments, run in `cwd`.
    pub fn new(cwd: &Path, args: &[&str]) -> Self {
        Dr {
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd: cwd.to_path_buf(),
            env: Vec::new(),
        }
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Runs to completion.
    pub fn run(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dr"));
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .env("NO_COLOR", "1")
            .env_remove("DR_VAULT_PASSWORD_FILE");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("the dr binary runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            desc: format!("dr {}\n  in {}", self.args.join(" "), self.cwd.display()),
        }
    }
}

impl Run {
    fn report(&self) -> String {
        format!(
            "{}\n--- exit code: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.desc, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            expected,
            "unexpected exit code\n{}",
            self.report()
        );
        self
    }

    /// Asserts stdout contains `text`.
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.report()
        );
        self
    }

    /// Asserts stdout does not contain `text`.
    pub fn stdout_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text),
            "stdout has {text:?}\n{}",
            self.report()
        );
        self
    }

    /// Asserts stderr contains `text`.
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.report()
        );
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.report()))
    }
}

/// Writes files (path, contents) under `dir`, creating directories.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("file has a parent")).expect("create dirs");
        std::fs::write(&full, text).expect("write file");
    }
}

/// The repository root (for the shipped examples).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("controller has a parent")
        .to_path_buf()
}

/// Copies the shipped examples (playbooks, inventory, vault, dr.toml) into `dir`, so a test
/// runs them as a user would in a checkout, without writing into the repository.
pub fn copy_examples(dir: &Path) {
    let root = repo_root();
    for sub in ["playbooks", "inventory", "vault"] {
        copy_dir(&root.join(sub), &dir.join(sub));
    }
    std::fs::copy(root.join("dr.toml"), dir.join("dr.toml")).expect("copy dr.toml");
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file under `dir` with its bytes and modification time, for "nothing changed" checks.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let entry = entry.expect("dir entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((
                    entry.path(),
                    std::fs::read(entry.path()).expect("read"),
                    meta.modified().expect("mtime"),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Fails when the `dr-agent` beside `dr` is older than the agent's sources: SSH suites push
/// that binary, and `cargo test -p dr` alone does not rebuild it (`tests/run` does).
pub fn assert_fresh_agent() {
    let dr = PathBuf::from(env!("CARGO_BIN_EXE_dr"));
    let agent = dr.with_file_name("dr-agent");
    let built = std::fs::metadata(&agent)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "no `{}`: run `cargo build -p dr-agent` (tests/run does)",
                agent.display()
            )
        });
    let mut stack = vec![repo_root().join("agent/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read agent sources") {
            let entry = entry.expect("dir entry");
            let meta = entry.metadata().expect("metadata");
            // Unit-test files are not part of the binary, so editing one relinks nothing.
            let name = entry.file_name().to_string_lossy().into_owned();
            // (`tests.rs`, `*_tests.rs`, `testutil.rs`, `pgtest.rs`: all `#[cfg(test)]`).
            let test_only = name.contains("test");
            if meta.is_dir() {
                stack.push(entry.path());
            } else if !test_only && meta.modified().expect("mtime") > built {
                panic!(
                    "`{}` is older than `{}`: run `cargo build -p dr-agent` (tests/run does)",
                    agent.display(),
                    entry.path().display()
                );
            }
        }
    }
}

/// `PATH` with the oracle's venv first, so dr finds ansible-core through `ansible-playbook`.
#[allow(dead_code)]
pub fn path_with_ansible() -> String {
    format!(
        "{}:{}",
        ansible_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The directory holding `ansible-inventory` and `ansible-playbook`. Missing = failure.
#[allow(dead_code)]
pub fn ansible_bin() -> PathBuf {
    let dir = std::env::var("DR_TEST_ANSIBLE_BIN").unwrap_or_else(|_| {
        panic!("DR_TEST_ANSIBLE_BIN is not set: run the suite with `tests/run`, which installs ansible-core into a venv and sets it")
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("ansible-inventory").is_file(),
        "no ansible-inventory in {}",
        dir.display()
    );
    dir
}

/// A command for one of the oracle's tools (`ansible-playbook`, `ansible-inventory`), quiet
/// and colourless, with no roles path from the developer's environment.
pub fn ansible(tool: &str) -> Command {
    let mut c = Command::new(ansible_bin().join(tool));
    c.env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env_remove("ANSIBLE_ROLES_PATH");
    c
}

/// Runs the oracle's `ansible-playbook` with `args` in `dir`; a failure fails the test
/// with its output.
pub fn ansible_playbook(dir: &Path, args: &[&str]) {
    ansible_playbook_with(dir, args, &[]);
}

/// [`ansible_playbook`] with `env` set for it.
pub fn ansible_playbook_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) {
    let out = ansible("ansible-playbook")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "ansible-playbook {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the registered results of the same tasks run by ansible-playbook (`ansible`) and
/// by dr (`dr`) differ, one line each (`rNN `key`: ...`): every key of Ansible's but those
/// in `not_compared`, and any key only dr has but those in `dr_may_add`.
pub fn result_differences(
    ansible: &[serde_json::Value],
    dr: &[serde_json::Value],
    not_compared: &[&str],
    dr_may_add: &[&str],
) -> Vec<String> {
    use serde_json::Value;
    assert_eq!(ansible.len(), dr.len(), "not as many results");
    let mut differences = Vec::new();
    for (i, (a, d)) in ansible.iter().zip(dr).enumerate() {
        let (Value::Object(a), Value::Object(d)) = (a, d) else {
            panic!("r{:02}: not mappings: {a} / {d}", i + 1);
        };
        for key in a.keys().filter(|k| !not_compared.contains(&k.as_str())) {
            if a.get(key) != d.get(key) {
                differences.push(format!(
                    "r{:02} `{key}`: ansible {:?}, dr {:?}",
                    i + 1,
                    a.get(key),
                    d.get(key)
                ));
            }
        }
        for key in d
            .keys()
            .filter(|k| !a.contains_key(*k) && !dr_may_add.contains(&k.as_str()))
        {
            differences.push(format!(
                "r{:02} `{key}`: only dr has it: {:?}",
                i + 1,
                d[key]
            ));
        }
    }
    differences
}

/// Runs ansible-playbook with `args` in `dir`, telling the playbook to write its results
/// to `out=ansible.json` (an oracle test's playbook takes `out`).
pub fn ansible_playbook_out(dir: &Path, args: &[&str]) {
    let mut all = args.to_vec();
    all.extend(["-e", "out=ansible.json"]);
    ansible_playbook(dir, &all);
}

/// Runs `dr apply` with `args` in `dir`, telling the playbook to write its results to
/// `out=dr.json`; it must succeed.
pub fn dr_apply_out(dir: &Path, args: &[&str]) {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend(["-e", "out=dr.json"]);
    Dr::new(dir, &all).run().code(0);
}

/// A copy of `controller/tests/fixtures/<name>` in a temporary directory, with an empty
/// `out/` for what the playbooks write.
pub fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("controller/tests/fixtures").join(name),
        dir.path(),
    );
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

/// Every file under `dir/out`, by name: its text, or its bytes (`[233, ...]`) when it is
/// not UTF-8.
pub fn outputs(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap();
            let shown =
                String::from_utf8(bytes).unwrap_or_else(|e| format!("{:?}", e.into_bytes()));
            (e.file_name().to_string_lossy().into_owned(), shown)
        })
        .collect()
}

/// Runs `playbook` of fixture `name` (its inventory `inventory.yml`) with ansible-playbook
/// and with `dr apply --yes` (`dr_code` expected); returns dr's directory after checking
/// that both left the same files under `out/`. A failing playbook is part of the
/// comparison: only the files are compared.
pub fn same_files_as_ansible(name: &str, playbook: &str, dr_code: i32) -> tempfile::TempDir {
    same_files_as_ansible_with(name, playbook, "inventory.yml", dr_code)
}

/// [`same_files_as_ansible`] with the fixture's inventory `inventory`.
pub fn same_files_as_ansible_with(
    name: &str,
    playbook: &str,
    inventory: &str,
    dr_code: i32,
) -> tempfile::TempDir {
    let ansible = fixture(name);
    let _ = self::ansible("ansible-playbook")
        .args(["-i", inventory, playbook])
        .current_dir(ansible.path())
        .output()
        .expect("ansible-playbook runs");
    let dr = fixture(name);
    Dr::new(dr.path(), &["apply", playbook, "-i", inventory, "--yes"])
        .run()
        .code(dr_code);
    assert_eq!(
        outputs(dr.path()),
        outputs(ansible.path()),
        "dr's files differ from Ansible's ({playbook})"
    );
    dr
}

/// [`same_files_as_ansible`] (inventory `inventory.yml`, dr expected to succeed) with the
/// oracle's venv first on dr's `PATH`, for playbooks whose plugins or modules run through
/// the bridge (which finds ansible-core through `ansible-playbook`); returns dr's files.
#[allow(dead_code)]
pub fn same_files_as_ansible_bridged(name: &str) -> std::collections::BTreeMap<String, String> {
    let ansible = fixture(name);
    ansible_playbook(ansible.path(), &["-i", "inventory.yml", "site.yml"]);
    let dr = fixture(name);
    Dr::new(
        dr.path(),
        &["apply", "site.yml", "-i", "inventory.yml", "--yes"],
    )
    .env("PATH", &path_with_ansible())
    .run()
    .code(0);
    let out = outputs(dr.path());
    assert_eq!(
        out,
        outputs(ansible.path()),
        "dr's files differ from Ansible's ({name})"
    );
    out
}

/// Every entry under `dir`: relative path, kind, link target, mode and content.
#[allow(dead_code)]
pub fn tree(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let line = if meta.is_symlink() {
                format!("{rel} -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                todo.push(path.clone());
                format!("{rel}/ {:o}", meta.permissions().mode() & 0o7777)
            } else {
                format!(
                    "{rel} {:o} {:?}",
                    meta.permissions().mode() & 0o7777,
                    std::fs::read_to_string(&path).unwrap()
                )
            };
            out.push(line);
        }
    }
    out.sort();
    out
}

/// Encrypts `file` in `dir` in place with the passphrase in `dir/pw` (a cheap work factor:
/// tests need the format, not the strength).
pub fn vault_encrypt(dir: &Path, file: &str) {
    Dr::new(
        dir,
        &["vault", "encrypt", file, "--vault-password-file", "pw"],
    )
    .env("DR_VAULT_TEST_SCRYPT_WORK_FACTOR", "10")
    .run()
    .code(0);
}

/// A Python server on 127.0.0.1 (`python3 ARGS`) that prints its port, as the word after
/// `port`, on its first line of output; killed when dropped.
pub struct PyServer {
    child: std::process::Child,
    pub port: u16,
}

impl PyServer {
    pub fn start(args: &[&std::ffi::OsStr]) -> PyServer {
        use std::io::BufRead as _;
        let mut child = Command::new("python3")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server says where it serves");
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in `{line}`"));
        PyServer { child, port }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of the (first) run journal under `dir` whose event is `kind`.
pub fn journal_events(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    let runs = dir.join(".dr/runs");
    let file = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == kind)
        .collect()
}

/// Runs the oracle's `ansible-vault` with `args` in `dir`; its stdout, the test failing
/// with its stderr when it fails.
pub fn ansible_vault(dir: &Path, args: &[&str]) -> String {
    let out = ansible("ansible-vault")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ansible-vault runs");
    assert!(
        out.status.success(),
        "ansible-vault {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ansible-vault prints text")
}
