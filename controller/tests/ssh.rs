//! The SSH transport end to end: the real `dr` binary against real OpenSSH sshd servers on
//! 127.0.0.1, each with its own host key, authorized_keys and agent cache directory. All
//! "hosts" are this machine, so every host's files live under its own `root_dir` var.

mod util;

use std::path::{Path, PathBuf};

use dr_testbed::sshd::{KeyPair, Sshd};
use util::{Dr, Run, write_tree};

/// A set of sshd "hosts" plus a client key and an inventory pointing at them.
struct Fleet {
    dir: tempfile::TempDir,
    key: KeyPair,
    hosts: Vec<Sshd>,
}

impl Fleet {
    /// Starts `n` sshd hosts named `h01`..; nothing is written to known_hosts yet.
    fn start(n: usize) -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
        let hosts = (1..=n)
            .map(|i| {
                let home = dir.path().join(format!("hosts/h{i:02}"));
                let cache = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
                Sshd::start(&home.join("sshd"), &[&key.public], &[&cache])
            })
            .collect();
        let fleet = Fleet { dir, key, hosts };
        fleet.write_inventory(&[]);
        fleet
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn known_hosts(&self) -> PathBuf {
        self.path().join("known_hosts")
    }

    fn name(i: usize) -> String {
        format!("h{:02}", i + 1)
    }

    fn root(&self, i: usize) -> PathBuf {
        self.path().join(format!("hosts/{}/root", Fleet::name(i)))
    }

    /// Records every host's real key in the test's known_hosts.
    fn trust_all(&self) {
        let lines: Vec<String> = self.hosts.iter().map(Sshd::known_hosts_line).collect();
        std::fs::write(self.known_hosts(), lines.join("\n") + "\n").expect("write known_hosts");
    }

    /// `inventory.yml`: every host in group `web`; `extra` adds host vars (`(host, line)`).
    fn write_inventory(&self, extra: &[(usize, &str)]) {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut text = format!(
            "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
             ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n  \
             children:\n    web:\n      hosts:\n",
            self.key.private.display(),
            self.known_hosts().display()
        );
        for (i, sshd) in self.hosts.iter().enumerate() {
            text.push_str(&format!(
                "        {}:\n          ansible_host: 127.0.0.1\n          ansible_port: {}\n          root_dir: {}\n",
                Fleet::name(i),
                sshd.port,
                self.root(i).display()
            ));
            for (_, line) in extra.iter().filter(|(h, _)| *h == i) {
                text.push_str(&format!("          {line}\n"));
            }
        }
        write_tree(self.path(), &[("inventory.yml", &text)]);
    }

    /// Runs `dr` in the fleet's directory, without the caller's ssh-agent.
    fn dr(&self, args: &[&str]) -> Run {
        let mut all = vec![args[0], "-i", "inventory.yml"];
        all.extend_from_slice(&args[1..]);
        Dr::new(self.path(), &all)
            .env("SSH_AUTH_SOCK", "")
            .env("DR_AGENT", &agent_binary())
            .run()
    }
}

/// The agent binary beside `dr`, as the SSH transport finds it; never skipped when missing.
fn agent_binary() -> String {
    if let Ok(p) = std::env::var("DR_AGENT") {
        return p;
    }
    let path = Path::new(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");
    assert!(
        path.is_file(),
        "the SSH tests push `{}` to the hosts; build it first: `cargo build -p dr-agent` (or set DR_AGENT)",
        path.display()
    );
    path.display().to_string()
}

const SITE: &str = "\
- name: base
  hosts: web
  tasks:
    - name: make the config dir
      command: mkdir -p {{ root_dir }}/etc
      args:
        creates: '{{ root_dir }}/etc'
    - name: write motd
      shell: echo 'managed by dr on {{ inventory_hostname }}' > {{ root_dir }}/etc/motd
      args:
        creates: '{{ root_dir }}/etc/motd'
- name: app
  hosts: web
  tasks:
    - name: write the app marker
      shell: hostname > {{ root_dir }}/etc/app
      args:
        creates: '{{ root_dir }}/etc/app'
";

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn ten_hosts_apply_then_idempotent_and_agent_pushed_once() {
    let fleet = Fleet::start(10);
    fleet.trust_all();
    write_tree(fleet.path(), &[("site.yml", SITE)]);

    let first = fleet.dr(&["apply", "site.yml", "-v"]);
    first.code(0);
    assert_eq!(
        count(&first.stdout, "changed=3 "),
        10,
        "every host changed everything\n{}",
        first.stdout
    );
    for i in 0..10 {
        let motd = std::fs::read_to_string(fleet.root(i).join("etc/motd")).expect("motd written");
        assert_eq!(motd.trim(), format!("managed by dr on {}", Fleet::name(i)));
        assert!(fleet.root(i).join("etc/app").is_file());
    }
    assert_eq!(
        count(&first.stderr, "pushed dr-agent to"),
        10,
        "each host gets the agent once in the first run\n{}",
        first.stderr
    );
    let cached: Vec<PathBuf> = (0..10)
        .map(|i| {
            let dir = fleet
                .path()
                .join(format!("hosts/{}/cache/dr", Fleet::name(i)));
            let files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("agent cache dir")
                .map(|e| e.expect("entry").path())
                .collect();
            assert_eq!(
                files.len(),
                1,
                "one cached agent, no temp files left: {files:?}"
            );
            files[0].clone()
        })
        .collect();
    let mtimes: Vec<_> = cached
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .expect("mtime")
        })
        .collect();

    let second = fleet.dr(&["apply", "site.yml", "-v"]);
    second.code(0).stdout_has("Applied: 0 change(s)");
    assert_eq!(count(&second.stdout, "changed=0 "), 10, "{}", second.stdout);
    assert_eq!(
        count(&second.stderr, "pushed dr-agent"),
        0,
        "a second run sends no agent bytes\n{}",
        second.stderr
    );
    for (p, before) in cached.iter().zip(&mtimes) {
        let after = std::fs::metadata(p)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(&after, before, "`{}` was rewritten", p.display());
    }

    fleet.dr(&["plan", "site.yml"]).code(0);
}
