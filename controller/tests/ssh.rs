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
        Fleet::start_with_env(n, "")
    }

    /// Like [`Fleet::start`], with `env` (`NAME=value ...`) added to every login session.
    fn start_with_env(n: usize, env: &str) -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
        let hosts = (1..=n)
            .map(|i| {
                let home = dir.path().join(format!("hosts/h{i:02}"));
                // One SetEnv line: sshd keeps only the first.
                let set_env = format!(
                    "SetEnv XDG_CACHE_HOME={} {env}",
                    home.join("cache").display()
                );
                Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env])
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
        self.dr_with(args, &[])
    }

    /// [`Fleet::dr`] with more environment (set after `DR_AGENT`, so it can override it).
    fn dr_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all = vec![args[0], "-i", "inventory.yml"];
        all.extend_from_slice(&args[1..]);
        let mut dr = Dr::new(self.path(), &all)
            .env("SSH_AUTH_SOCK", "")
            .env("DR_AGENT", &agent_binary());
        for (k, v) in env {
            dr = dr.env(k, v);
        }
        dr.run()
    }
}

/// The agent binary beside `dr`, as the SSH transport finds it; never skipped when missing.
fn agent_binary() -> String {
    if let Ok(p) = std::env::var("DR_AGENT") {
        return p;
    }
    util::assert_fresh_agent();
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
    assert_eq!(
        count(&first.stderr, "bytes (zstd) in"),
        10,
        "the agent travels zstd-compressed (the hosts here have `zstd`: apt-get install -y zstd)\n{}",
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

const TOUCH: &str = "\
- name: touch
  hosts: web
  tasks:
    - name: marker
      shell: mkdir -p {{ root_dir }} && date > {{ root_dir }}/marker
      args:
        creates: '{{ root_dir }}/marker'
";

/// `SHA256:...` of a public key line, as `ssh-keygen -lf` prints it.
fn fingerprint(public: &str, dir: &Path) -> String {
    let file = dir.join("fp.pub");
    std::fs::write(&file, public).expect("write key");
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&file)
        .output()
        .expect("ssh-keygen runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint in {text:?}"))
        .to_owned()
}

#[test]
fn host_keys_unknown_refused_accept_new_learns_changed_refused_pinned_wins() {
    let fleet = Fleet::start(1);
    write_tree(fleet.path(), &[("touch.yml", TOUCH)]);
    let real = fingerprint(&fleet.hosts[0].host_key.public, fleet.path());

    // Unknown: refused, with the fingerprint and how to accept it.
    let run = fleet.dr(&["apply", "touch.yml"]);
    run.code(1)
        .stdout_has("host key of `h01` is unknown")
        .stdout_has(&real)
        .stdout_has("--accept-new-host-keys");
    assert!(
        !fleet.root(0).join("marker").exists(),
        "nothing ran on an unknown host"
    );

    // --accept-new-host-keys records it, then it is known without the flag.
    fleet
        .dr(&["apply", "touch.yml", "--accept-new-host-keys"])
        .code(0);
    let known = std::fs::read_to_string(fleet.known_hosts()).expect("known_hosts written");
    assert!(
        known.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", fleet.hosts[0].port)),
        "{known}"
    );
    fleet.dr(&["apply", "touch.yml"]).code(0);

    // Changed: refused even with --accept-new-host-keys, naming both fingerprints and the line.
    let other = KeyPair::generate(&fleet.path().join("other_host_key")).expect("key");
    let mut words = other.public.split_whitespace();
    let line = format!(
        "# an older host\n[127.0.0.1]:{} {} {}\n",
        fleet.hosts[0].port,
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default()
    );
    std::fs::write(fleet.known_hosts(), line).expect("write known_hosts");
    let old = fingerprint(&other.public, fleet.path());
    fleet
        .dr(&["apply", "touch.yml", "--accept-new-host-keys"])
        .code(1)
        .stdout_has("host key of `h01` has CHANGED")
        .stdout_has(&old)
        .stdout_has(&real)
        .stdout_has("known_hosts:2");

    // A key pinned in inventory wins over the stale known_hosts entry.
    let pin = format!("dr_host_key: \"{}\"", fleet.hosts[0].host_key.public);
    fleet.write_inventory(&[(0, &pin)]);
    fleet.dr(&["apply", "touch.yml"]).code(0);
    // ...and a wrong pinned key is refused.
    let pin = format!("dr_host_key: \"{}\"", other.public);
    fleet.write_inventory(&[(0, &pin)]);
    fleet
        .dr(&["apply", "touch.yml"])
        .code(1)
        .stdout_has("does not match the key pinned in inventory (`dr_host_key`)");
}

#[test]
fn unreachable_host_fails_its_nodes_skips_dependents_others_finish() {
    let mut fleet = Fleet::start(3);
    fleet.trust_all();
    fleet.hosts[0].stop();
    write_tree(
        fleet.path(),
        &[(
            "site.yml",
            "\
- name: db
  hosts: h01
  tasks:
    - shell: mkdir -p {{ root_dir }} && touch {{ root_dir }}/db
- name: db-post
  hosts: h01
  tasks:
    - shell: touch {{ root_dir }}/db-post
- name: web
  hosts: h02:h03
  after: []
  tasks:
    - shell: mkdir -p {{ root_dir }} && touch {{ root_dir }}/web
",
        )],
    );
    let run = fleet.dr(&["apply", "site.yml"]);
    run.code(1)
        .stdout_has("unreachable: cannot connect to `h01` (127.0.0.1:")
        .stdout_has("skipped because `h01` could not be reached in play `db`");
    assert!(fleet.root(1).join("web").is_file(), "h02 finished");
    assert!(fleet.root(2).join("web").is_file(), "h03 finished");
    let runs = fleet.path().join(".dr/runs");
    let journal = std::fs::read_dir(&runs)
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal file");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let outcomes: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("outcome").is_some())
        .collect();
    let of = |word: &str| {
        outcomes
            .iter()
            .filter(|v| v["outcome"] == word)
            .map(|v| v["reason"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let unreachable = of("unreachable");
    assert_eq!(unreachable.len(), 1, "{text}");
    assert!(unreachable[0].contains("`h01`"), "{text}");
    assert_eq!(of("skipped").len(), 1, "db-post on h01 is skipped\n{text}");
    assert_eq!(of("ok").len(), 2, "{text}");
}

/// A directory of symlinks to `commands` (from /usr/bin or /bin): a host PATH with what the
/// push and the playbook use, and nothing else.
fn path_with(commands: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().expect("temp dir");
    for cmd in commands {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(cmd))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{cmd}` is not in /usr/bin or /bin"));
        std::os::unix::fs::symlink(&found, bin.path().join(cmd)).expect("symlink");
    }
    bin
}

const BASICS: &[&str] = &[
    "sh",
    "uname",
    "mkdir",
    "cat",
    "sha256sum",
    "chmod",
    "mv",
    "rm",
    "date",
];

/// A cold host gets the agent in the best form it can unpack (it says which in the exec that
/// found the agent missing), keeps exactly one cached agent, and runs the play; a second run
/// sends nothing.
fn cold_host_gets_the_agent_as(commands: &[&str], form: &str) {
    let bin = path_with(commands);
    let fleet = Fleet::start_with_env(1, &format!("PATH={}", bin.path().display()));
    fleet.trust_all();
    write_tree(fleet.path(), &[("touch.yml", TOUCH)]);

    let first = fleet.dr(&["apply", "touch.yml", "-v"]);
    first.code(0).stdout_has("changed=1 ");
    assert!(fleet.root(0).join("marker").is_file(), "the playbook ran");
    assert_eq!(
        count(&first.stderr, "pushed dr-agent to `h01`"),
        1,
        "{}",
        first.stderr
    );
    assert_eq!(
        count(&first.stderr, &format!("bytes ({form}) in")),
        1,
        "{}",
        first.stderr
    );
    assert_eq!(
        count(&first.stderr, "has no "),
        0,
        "no fallback needed\n{}",
        first.stderr
    );
    // A direct connection to OpenSSH on loopback: the push is paced to what sshd consumed.
    assert_eq!(
        count(&first.stderr, " ms, paced to "),
        1,
        "{}",
        first.stderr
    );
    let cache = fleet.path().join("hosts/h01/cache/dr");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("agent cache dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(files.len(), 1, "one cached agent, no temp files: {files:?}");

    let second = fleet.dr(&["apply", "touch.yml", "-v"]);
    second.code(0).stdout_has("Applied: 0 change(s)");
    assert_eq!(
        count(&second.stderr, "pushed dr-agent"),
        0,
        "{}",
        second.stderr
    );
}

#[test]
fn a_host_without_gzip_or_zstd_gets_the_plain_agent() {
    cold_host_gets_the_agent_as(BASICS, "plain");
}

#[test]
fn a_host_with_gzip_but_no_zstd_gets_it_gzipped() {
    cold_host_gets_the_agent_as(&[BASICS, &["gzip"]].concat(), "gzip");
}

#[test]
fn a_host_with_zstd_gets_it_as_zstd() {
    cold_host_gets_the_agent_as(&[BASICS, &["gzip", "zstd"]].concat(), "zstd");
}

#[test]
fn become_runs_the_agent_through_sudo() {
    assert!(
        Path::new("/usr/bin/sudo").is_file(),
        "this test runs `become: true` through sudo: install it (`apt-get install -y sudo`)"
    );
    let fleet = Fleet::start(1);
    fleet.trust_all();
    write_tree(
        fleet.path(),
        &[(
            "become.yml",
            "\
- name: as root via sudo
  hosts: web
  become: true
  tasks:
    - shell: mkdir -p {{ root_dir }} && echo \"sudo_user=$SUDO_USER\" > {{ root_dir }}/who
",
        )],
    );
    fleet.dr(&["apply", "become.yml"]).code(0);
    let who = std::fs::read_to_string(fleet.root(0).join("who")).expect("who written");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    assert_eq!(
        who.trim(),
        format!("sudo_user={user}"),
        "the agent ran under sudo"
    );
}

#[test]
fn proxy_jump_tunnels_through_another_sshd() {
    let mut fleet = Fleet::start(2);
    fleet.trust_all();
    let jump = format!(
        "ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o ProxyJump=127.0.0.1:{}\"",
        fleet.known_hosts().display(),
        fleet.hosts[0].port
    );
    fleet.write_inventory(&[(1, &jump)]);
    write_tree(fleet.path(), &[("touch.yml", TOUCH)]);
    let run = fleet.dr(&["apply", "touch.yml", "-v", "--limit", "h02"]);
    run.code(0);
    let via = format!("through `[127.0.0.1]:{}`", fleet.hosts[0].port);
    assert!(
        run.stderr.contains(&via),
        "h02 was reached through h01\n{}",
        run.stderr
    );
    assert!(fleet.root(1).join("marker").is_file());
    // Through the jump host the round trip is not known: the push goes unpaced.
    assert_eq!(
        count(&run.stderr, "pushed dr-agent to `h02`"),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(count(&run.stderr, "paced to"), 0, "{}", run.stderr);

    // With the jump host down, the target is unreachable, and the message says why.
    fleet.hosts[0].stop();
    fleet
        .dr(&["apply", "touch.yml", "--limit", "h02"])
        .code(1)
        .stdout_has("unreachable: cannot connect to `h02 (jump host `");
}

const CROSS_HOST: &str = "\
- name: database
  hosts: h02:h03
  gather_facts: false
  tasks:
    - set_fact:
        me: '{{ inventory_hostname }}-{{ ansible_port }}'
    - name: reads the other hosts' facts
      shell: mkdir -p {{ root_dir }} && echo '{{ hostvars[\"h02\"].me }} {{ hostvars[\"h03\"].me }}' > {{ root_dir }}/peers
    - command: echo once
      register: once
      run_once: true
    - name: runs on h01 with this host's vars
      shell: echo \"{{ inventory_hostname }} {{ once.stdout }} $XDG_CACHE_HOME\" > {{ root_dir }}-from-{{ inventory_hostname }}
      delegate_to: h01
";

#[test]
fn cross_host_data_over_ssh_costs_one_exec_per_node_plus_one_per_delegated_item() {
    let fleet = Fleet::start(3);
    fleet.trust_all();
    write_tree(fleet.path(), &[("cross.yml", CROSS_HOST)]);
    // The first run pushes the agents; the second is counted.
    fleet.dr(&["apply", "cross.yml"]).code(0);
    let run = fleet.dr(&["apply", "cross.yml", "-vv"]);
    run.code(0);
    let execs = |host: &str| count(&run.stderr, &format!("exec dr-agent on `{host}`"));
    assert_eq!(
        (execs("h01"), execs("h02"), execs("h03")),
        (2, 1, 1),
        "one exec per node, one per delegated item, none per sync point\n{}",
        run.stderr
    );
    let port = |i: usize| fleet.hosts[i].port;
    let peers = format!("h02-{} h03-{}\n", port(1), port(2));
    for i in [1, 2] {
        let read = std::fs::read_to_string(fleet.root(i).join("peers")).expect("peers written");
        assert_eq!(read, peers, "h0{} read the other host's fact", i + 1);
        let name = Fleet::name(i);
        let from = format!("{}-from-{name}", fleet.root(i).display());
        let text = std::fs::read_to_string(&from).expect("the delegated task wrote");
        // With h02's/h03's variables, on h01 (its login environment).
        let h01_cache = fleet.path().join("hosts/h01/cache");
        assert_eq!(text, format!("{name} once {}\n", h01_cache.display()));
    }
}

#[test]
fn reset_connection_is_refused_over_ssh_before_anything_runs_and_is_a_no_op_locally() {
    let fleet = Fleet::start(1);
    fleet.trust_all();
    let play = "- hosts: {hosts}\n  gather_facts: false\n  tasks:\n    - shell: touch {{ root_dir | default(playbook_dir) }}/marker\n    - meta: reset_connection\n    - shell: touch {{ root_dir | default(playbook_dir) }}/after\n";
    write_tree(
        fleet.path(),
        &[
            ("over_ssh.yml", &play.replace("{hosts}", "web")),
            ("local.yml", &play.replace("{hosts}", "localhost")),
        ],
    );
    fleet
        .dr(&["apply", "over_ssh.yml"])
        .code(1)
        .stdout_has("`meta: reset_connection` is not supported over SSH by dr");
    assert!(
        !fleet.root(0).join("marker").exists(),
        "a task ran on the host"
    );
    // As Ansible's local connection: the reset does nothing, the play goes on.
    fleet.dr(&["apply", "local.yml"]).code(0);
    assert!(fleet.path().join("after").is_file());
}

/// What `uname -m` says here, where every test "host" runs.
fn machine() -> String {
    let out = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .expect("uname runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A machine that is not this one, for an agent no test host can use.
fn other_machine() -> &'static str {
    if machine() == "s390x" {
        "riscv64"
    } else {
        "s390x"
    }
}

#[test]
fn the_agent_is_chosen_by_the_hosts_machine() {
    let fleet = Fleet::start(2);
    fleet.trust_all();
    write_tree(fleet.path(), &[("touch.yml", TOUCH)]);
    // Only arch-named agents, no plain `dr-agent`, no DR_AGENT: the host's `uname -m`
    // picks its one; the other machine's file is never sent (it is not an agent at all).
    let agents = fleet.path().join("agents");
    std::fs::create_dir(&agents).expect("agents dir");
    std::fs::copy(
        agent_binary(),
        agents.join(format!("dr-agent-{}", machine())),
    )
    .expect("copy the agent");
    std::fs::write(
        agents.join(format!("dr-agent-{}", other_machine())),
        "not this machine's",
    )
    .expect("write");
    let dir = agents.display().to_string();
    let env = [("DR_AGENT", ""), ("DR_AGENT_DIR", dir.as_str())];

    let first = fleet.dr_with(&["apply", "touch.yml", "-v"], &env);
    first.code(0).stdout_has("changed=1 ");
    assert_eq!(
        count(&first.stderr, "pushed dr-agent to"),
        2,
        "{}",
        first.stderr
    );
    let second = fleet.dr_with(&["apply", "touch.yml", "-v"], &env);
    second.code(0).stdout_has("Applied: 0 change(s)");
    assert_eq!(
        count(&second.stderr, "pushed dr-agent"),
        0,
        "{}",
        second.stderr
    );
}

/// The zstd copy made when the agent was built (`dr-agent-<arch>.zst` beside it) is what a
/// host with `zstd` gets, byte for byte; a stale copy (another build's) is passed over with
/// a warning naming it, and the host gets the agent compressed by dr, which runs the play.
#[test]
fn a_zstd_copy_beside_the_agent_is_sent_as_it_is_unless_it_is_stale() {
    let agents = tempfile::tempdir().expect("agents dir");
    let agent = agents.path().join(format!("dr-agent-{}", machine()));
    std::fs::copy(agent_binary(), &agent).expect("copy the agent");
    let zst = agents.path().join(format!("dr-agent-{}.zst", machine()));
    let compress = |from: &Path| {
        let status = std::process::Command::new("zstd")
            .args(["-q", "-f", "-1", "--check", "-o"])
            .arg(&zst)
            .arg(from)
            .status()
            .expect("this test needs `zstd` (apt-get install -y zstd)");
        assert!(status.success());
    };
    let dir = agents.path().display().to_string();
    let env = [("DR_AGENT", ""), ("DR_AGENT_DIR", dir.as_str())];
    let cold_run = || {
        let fleet = Fleet::start(1);
        fleet.trust_all();
        write_tree(fleet.path(), &[("touch.yml", TOUCH)]);
        let run = fleet.dr_with(&["apply", "touch.yml", "-v"], &env);
        run.code(0).stdout_has("changed=1 ");
        run.stderr.clone()
    };

    compress(&agent);
    let size = std::fs::metadata(&zst).expect("the copy").len();
    let stderr = cold_run();
    assert!(
        stderr.contains(&format!("pushed dr-agent to `h01`: {size} bytes (zstd)")),
        "{stderr}"
    );

    let older = agents.path().join("older-build");
    std::fs::write(&older, b"another build of the agent").expect("write");
    compress(&older);
    let stderr = cold_run();
    assert!(
        stderr.contains("is not a checksummed zstd copy of")
            && stderr.contains("bytes (zstd)")
            && !stderr.contains(&format!(
                ": {} bytes (zstd)",
                std::fs::metadata(&zst).expect("the copy").len()
            )),
        "{stderr}"
    );
}

#[test]
fn a_host_whose_machine_has_no_agent_is_refused_naming_it() {
    let fleet = Fleet::start(1);
    fleet.trust_all();
    write_tree(fleet.path(), &[("touch.yml", TOUCH)]);
    // DR_AGENT_DIR holds an agent for another machine only.
    let agents = fleet.path().join("agents");
    std::fs::create_dir(&agents).expect("agents dir");
    let other = other_machine();
    std::fs::write(
        agents.join(format!("dr-agent-{other}")),
        "another machine's",
    )
    .expect("write");
    let dir = agents.display().to_string();
    let run = fleet.dr_with(
        &["apply", "touch.yml"],
        &[("DR_AGENT", ""), ("DR_AGENT_DIR", dir.as_str())],
    );
    let arch = machine();
    run.code(1)
        .stdout_has(&format!(
            "no agent for `h01`: its machine is `{arch}` (`uname -m`) and dr has agents for {other} only"
        ))
        .stdout_has(&format!("put it at `{dir}/dr-agent-{arch}`"));
    assert!(!fleet.root(0).join("marker").exists(), "nothing ran");
    let cache = fleet.path().join("hosts/h01/cache/dr");
    assert!(
        std::fs::read_dir(&cache).map_or(true, |mut d| d.next().is_none()),
        "nothing was pushed"
    );
}

#[test]
fn a_task_s_remote_user_names_the_login_its_own_connection_uses() {
    // No `ansible_user` variable: the play's `remote_user` logs in, and a task's keyword
    // wins over it (as in Ansible). The same user and port run; another user's task runs
    // over a second connection, as Ansible's, here as `nobody`, whose shell refuses.
    let fleet = Fleet::start(1);
    fleet.trust_all();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let inventory = std::fs::read_to_string(fleet.path().join("inventory.yml")).unwrap();
    let without_user: String = inventory
        .lines()
        .filter(|l| !l.contains("ansible_user:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let port = fleet.hosts[0].port;
    write_tree(
        fleet.path(),
        &[
            ("inventory.yml", &without_user),
            (
                "p.yml",
                &format!(
                    "\
- hosts: web
  remote_user: {user}
  gather_facts: false
  tasks:
    - command: mkdir -p {{{{ root_dir }}}}
    - block:
        - command: touch {{{{ root_dir }}}}/same
      remote_user: \"{{{{ '{user}' }}}}\"
      port: {port}
    - command: touch {{{{ root_dir }}}}/other
      remote_user: nobody
      ignore_errors: true
    - command: touch {{{{ root_dir }}}}/after
"
                ),
            ),
        ],
    );
    fleet
        .dr(&["apply", "p.yml"])
        .code(0)
        .stdout_has("`h01` over this task's own connection: agent failed")
        .stdout_has("This account is currently not available.");
    assert!(
        fleet.root(0).join("same").is_file(),
        "the same login did not run"
    );
    assert!(
        !fleet.root(0).join("other").exists(),
        "another user's task ran"
    );
    assert!(fleet.root(0).join("after").is_file());
}

#[test]
fn become_method_su_from_a_root_login_runs_the_agent_without_sudo() {
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    assert_eq!(user, "root", "this test logs in as root: run it as root");
    let fleet = Fleet::start(1);
    fleet.trust_all();
    write_tree(
        fleet.path(),
        &[
            (
                "su.yml",
                "\
- hosts: web
  become: true
  become_method: su
  tasks:
    - shell: mkdir -p {{ root_dir }} && echo \"$(id -un) sudo_user=$SUDO_USER\" > {{ root_dir }}/who
",
            ),
            (
                "nobody.yml",
                "- hosts: web\n  become: true\n  become_method: su\n  become_user: nobody\n  gather_facts: false\n  tasks:\n    - command: id\n",
            ),
        ],
    );
    fleet.dr(&["apply", "su.yml"]).code(0);
    let who = std::fs::read_to_string(fleet.root(0).join("who")).expect("who written");
    assert_eq!(who.trim(), "root sudo_user=", "the agent ran through sudo");
    // As Ansible's `su`: the user's login shell runs the agent, and `nobody`'s refuses.
    fleet
        .dr(&["apply", "nobody.yml"])
        .code(1)
        .stdout_has("This account is currently not available");
}
