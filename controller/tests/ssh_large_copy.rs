//! A large `copy` over SSH costs the controller its source once, not an encoded request per
//! host: 64 MiB of random bytes copied to three real OpenSSH sshd hosts on 127.0.0.1 at once
//! raise `dr`'s peak RSS (the child's `ru_maxrss`, from `wait4`) by little more than the
//! source, where a request encoded whole per host (base64, a third larger than the file)
//! costs four times the source on top of it.

mod util;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dr_testbed::sshd::{KeyPair, Sshd};
use util::write_tree;

/// The file's size in MiB, 64 unless `DR_TEST_LARGE_COPY_MIB` says otherwise (README's
/// figures are for 150).
fn size() -> usize {
    std::env::var("DR_TEST_LARGE_COPY_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(64)
        << 20
}

const HOSTS: usize = 3;

/// Three trusted sshd "hosts", each with its own root directory, and a play copying
/// `files/{{ src }}` to every host's root.
struct Fleet {
    dir: tempfile::TempDir,
    _hosts: Vec<Sshd>,
}

impl Fleet {
    fn start() -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let known_hosts = dir.path().join("known_hosts");
        let mut inventory = format!(
            "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
             ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n  \
             hosts:\n",
            key.private.display(),
            known_hosts.display()
        );
        let mut trusted = String::new();
        let hosts: Vec<Sshd> = (0..HOSTS)
            .map(|i| {
                let home = dir.path().join(format!("hosts/h{i:02}"));
                let set_env = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
                let sshd = Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env]);
                std::fs::create_dir_all(home.join("root")).expect("the host's root");
                inventory.push_str(&format!(
                    "    h{i:02}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      root_dir: {}\n",
                    sshd.port,
                    home.join("root").display()
                ));
                trusted.push_str(&(sshd.known_hosts_line() + "\n"));
                sshd
            })
            .collect();
        std::fs::write(&known_hosts, trusted).expect("known_hosts");
        let play = "- name: large copy\n  hosts: all\n  gather_facts: false\n  tasks:\n    \
                    - name: copy\n      copy:\n        src: \"{{ src }}\"\n        dest: \"{{ root_dir }}/{{ src }}\"\n";
        write_tree(
            dir.path(),
            &[("inventory.yml", &inventory), ("p.yml", play)],
        );
        Fleet { dir, _hosts: hosts }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn copied(&self, i: usize, name: &str) -> PathBuf {
        self.path().join(format!("hosts/h{i:02}/root/{name}"))
    }

    /// Runs `dr apply` copying `files/<src>`; it must succeed. Returns dr's peak RSS in KiB.
    fn apply_peak_rss(&self, src: &str) -> u64 {
        util::assert_fresh_agent();
        let agent = Path::new(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");
        let out = self.path().join("dr.out");
        let err = self.path().join("dr.err");
        // Reaped by `wait4` below, which `Child` cannot do: it would lose the usage.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(env!("CARGO_BIN_EXE_dr"))
            .args(["apply", "p.yml", "-i", "inventory.yml", "-e"])
            .arg(format!("src={src}"))
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("dr.out"))
            .stderr(std::fs::File::create(&err).expect("dr.err"))
            .env("NO_COLOR", "1")
            .env("SSH_AUTH_SOCK", "")
            .env("DR_AGENT", &agent)
            .spawn()
            .expect("dr starts");
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: a zeroed `rusage` is a valid value for `wait4` to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our unwaited child; `status` and `usage` outlive the call.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
        let report = || {
            format!(
                "dr apply -e src={src}\n--- stdout:\n{}\n--- stderr:\n{}",
                std::fs::read_to_string(&out).unwrap_or_default(),
                std::fs::read_to_string(&err).unwrap_or_default()
            )
        };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "dr did not exit 0 (wait status {status})\n{}",
            report()
        );
        u64::try_from(usage.ru_maxrss).expect("a peak RSS")
    }
}

/// Writes `n` pseudo-random bytes (xorshift: not UTF-8, so they travel as base64) to
/// `path` a mebibyte at a time: the test process stays small, and `dr`, forked from it,
/// starts its peak RSS from there.
fn write_random(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = Vec::with_capacity(1 << 20);
    let mut left = n;
    while left > 0 {
        chunk.clear();
        while chunk.len() < (1 << 20).min(left) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.extend_from_slice(&state.to_le_bytes());
        }
        chunk.truncate((1 << 20).min(left));
        out.write_all(&chunk).expect("write");
        left -= chunk.len();
    }
    out.flush().expect("flush");
}

/// Whether two files hold the same bytes (read a mebibyte at a time).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let open = |p: &Path| {
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(p).expect("open"))
    };
    let (mut a, mut b) = (open(a), open(b));
    loop {
        let (x, y) = (a.fill_buf().expect("read"), b.fill_buf().expect("read"));
        let n = x.len().min(y.len());
        if n == 0 {
            return x.len() == y.len();
        }
        if x[..n] != y[..n] {
            return false;
        }
        a.consume(n);
        b.consume(n);
    }
}

#[test]
fn a_large_copy_to_three_ssh_hosts_costs_the_controller_its_source_once() {
    let fleet = Fleet::start();
    let size = size();
    let files = fleet.path().join("files");
    std::fs::create_dir_all(&files).expect("files/");
    write_random(&files.join("big.bin"), size);
    write_random(&files.join("small.bin"), 4096);
    let mut head = [0u8; 4096];
    std::io::Read::read_exact(
        &mut std::fs::File::open(files.join("small.bin")).expect("open"),
        &mut head,
    )
    .expect("read");
    assert!(
        std::str::from_utf8(&head).is_err(),
        "the file must travel as base64"
    );

    // The same run with a small file first: what dr costs without a large source (this
    // run also pushes the agent, so the measured run does not).
    let baseline = fleet.apply_peak_rss("small.bin");
    let peak = fleet.apply_peak_rss("big.bin");
    for i in 0..HOSTS {
        assert!(
            same_bytes(&files.join("big.bin"), &fleet.copied(i, "big.bin")),
            "h{i:02}: the copy differs from the source"
        );
    }
    let grew = peak.saturating_sub(baseline);
    let size_kib = (size >> 10) as u64;
    println!(
        "{} MiB to {HOSTS} SSH hosts: peak RSS {} MiB, {} MiB above the small copy's",
        size >> 20,
        peak >> 10,
        grew >> 10
    );
    // An encoded request per host adds 3 × 4/3 = 4 times the source to the source.
    assert!(
        grew < size_kib + size_kib / 2,
        "copying {} MiB to {HOSTS} SSH hosts raised dr's peak RSS by {} MiB ({} MiB → {} MiB): \
         more than the source once",
        size >> 20,
        grew >> 10,
        baseline >> 10,
        peak >> 10
    );
}
