//! A host reached through a TCP forwarder on loopback (as `ssh -L` or a cloud tunnel gives
//! one) whose sshd is far away: the kernel's round trip on dr's socket is the forwarder's,
//! a few microseconds, but the agent push must not stay paced as if the sshd were that near
//! (256 KiB per real round trip: seconds for the agent): its allowance grows to the window.
//! The real `dr` against a real OpenSSH sshd, behind a forwarder in this test that holds
//! every byte 20 ms in each direction.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use dr_testbed::sshd::{KeyPair, Sshd};
use util::{Dr, write_tree};

/// Each direction's delay through the forwarder: a 40 ms round trip.
const ONE_WAY: Duration = Duration::from_millis(20);

/// Listens on a free port of 127.0.0.1 and forwards every connection to `port` there,
/// holding each byte `delay` in each direction (no limit on the bytes held: a fast link
/// that is far away). Returns the port listened on.
fn delay_line(port: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("the forwarder's port");
    let listening = listener.local_addr().expect("its address").port();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let server = TcpStream::connect(("127.0.0.1", port)).expect("the sshd behind");
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (c, s) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            pump(client, s, delay);
            pump(server, c, delay);
        }
    });
    listening
}

/// Copies `from` to `to`, each piece sent `delay` after it was read; `to` is shut for
/// writing once `from` ends.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (held, due) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if held
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    thread::spawn(move || {
        for (at, bytes) in due {
            thread::sleep(at.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[test]
fn a_push_through_a_forwarder_to_a_distant_sshd_is_allowed_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
    let home = dir.path().join("hosts/h01");
    let set_env = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
    let sshd = Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env]);
    let port = delay_line(sshd.port, ONE_WAY);

    // The host is known at the forwarder's address, as `ssh -L` users record it.
    let trusted =
        sshd.known_hosts_line()
            .replacen(&format!(":{} ", sshd.port), &format!(":{port} "), 1);
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, trusted + "\n").expect("known_hosts");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let root = home.join("root");
    let inventory = format!(
        "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
         ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n  \
         hosts:\n    h01:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n",
        key.private.display(),
        known_hosts.display()
    );
    let play = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - file:\n        path: {}\n        state: directory\n",
        root.display()
    );
    write_tree(
        dir.path(),
        &[("inventory.yml", &inventory), ("p.yml", &play)],
    );
    util::assert_fresh_agent();
    let agent = std::path::Path::new(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");

    let run = Dr::new(dir.path(), &["apply", "-i", "inventory.yml", "p.yml", "-v"])
        .env("SSH_AUTH_SOCK", "")
        .env("DR_AGENT", &agent.display().to_string())
        .run();
    run.code(0).stdout_has("changed=1 ");
    assert!(root.is_dir(), "the play ran behind the forwarder");
    let pushed = run
        .stderr
        .lines()
        .find(|l| l.contains("pushed dr-agent to `h01`"))
        .unwrap_or_else(|| panic!("the agent was pushed\n{}", run.stderr));
    let allowed: u64 = pushed
        .split(", paced to ")
        .nth(1)
        .and_then(|rest| rest.split(" KiB").next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_else(|| panic!("the push names the allowance it ended with: {pushed}"));
    // sshd's window is 2 MiB: a round trip of 40 ms, not the forwarder's, limited the push.
    assert!(allowed >= 2048, "{pushed}");
}
