//! A `poll: 0` job over SSH (a real OpenSSH sshd on 127.0.0.1): the run ends and its
//! connection closes while the job still runs; the job finishes anyway, writes its result
//! into the job file, and a later run's `async_status` reads it.

mod util;

use std::path::Path;
use std::time::{Duration, Instant};

use dr_testbed::sshd::{KeyPair, Sshd};
use util::{Dr, write_tree};

#[test]
fn a_fire_and_forget_job_outlives_the_ssh_session() {
    util::assert_fresh_agent();
    let dir = tempfile::tempdir().expect("temp dir");
    let key = KeyPair::generate(&dir.path().join("client_key")).expect("client key");
    let home = dir.path().join("h01");
    let set_env = format!("SetEnv XDG_CACHE_HOME={}", home.join("cache").display());
    let sshd = Sshd::start(&home.join("sshd"), &[&key.public], &[&set_env]);
    let root = home.join("root");
    std::fs::create_dir_all(&root).expect("the host's root");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("known_hosts");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let inventory = format!(
        "all:\n  vars:\n    ansible_user: {user}\n    ansible_ssh_private_key_file: {}\n    \
         ansible_ssh_common_args: \"-F /dev/null -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null\"\n    \
         ansible_async_dir: \"{{{{ root_dir }}}}/jobs\"\n  \
         hosts:\n    h01:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      root_dir: {}\n",
        key.private.display(),
        known_hosts.display(),
        sshd.port,
        root.display()
    );
    let start = "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: sleep 8; touch {{ root_dir }}/fired; echo done\n      async: 30\n      poll: 0\n      register: job\n    - copy:\n        content: \"{{ job.ansible_job_id }}\"\n        dest: \"{{ root_dir }}/jid\"\n";
    let status = "- hosts: all\n  gather_facts: false\n  tasks:\n    - async_status:\n        jid: \"{{ jid }}\"\n      register: s\n    - assert:\n        that:\n          - s is finished\n          - s.stdout == 'done'\n          - s.rc == 0\n          - s.results_file == root_dir ~ '/jobs/' ~ jid\n";
    write_tree(
        dir.path(),
        &[
            ("inventory.yml", &inventory),
            ("start.yml", start),
            ("status.yml", status),
        ],
    );
    let agent = Path::new(env!("CARGO_BIN_EXE_dr")).with_file_name("dr-agent");
    let agent = agent.display().to_string();
    let started = Instant::now();
    Dr::new(dir.path(), &["apply", "start.yml", "-i", "inventory.yml"])
        .env("SSH_AUTH_SOCK", "")
        .env("DR_AGENT", &agent)
        .run()
        .code(0);
    assert!(
        !root.join("fired").exists(),
        "the run waited for the job ({:?})",
        started.elapsed()
    );
    let jid = std::fs::read_to_string(root.join("jid")).expect("the job id was written");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !root.join("fired").exists() {
        assert!(
            Instant::now() < deadline,
            "the job died with the SSH session"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The job writes its result just after its command ends.
    let file = root.join("jobs").join(&jid);
    while std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"started\"")) {
        assert!(Instant::now() < deadline, "the job never wrote its result");
        std::thread::sleep(Duration::from_millis(100));
    }
    Dr::new(
        dir.path(),
        &[
            "apply",
            "status.yml",
            "-i",
            "inventory.yml",
            "-e",
            &format!("jid={jid}"),
        ],
    )
    .env("SSH_AUTH_SOCK", "")
    .env("DR_AGENT", &agent)
    .run()
    .code(0);
}
