//! A real OpenSSH sshd on 127.0.0.1 for tests: its own host key, `authorized_keys`, config
//! and port, run in the foreground (`-D -e`) and killed on drop. Keys are generated at test
//! time with `ssh-keygen`. A missing sshd is a loud failure, never a skip.

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts sshd; override with `DR_TEST_SSHD` (must be absolute: sshd re-execs itself).
pub const SSHD: &str = "/usr/sbin/sshd";

/// An SSH key pair generated for a test.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private key file.
    pub private: PathBuf,
    /// The public key line (`ssh-ed25519 AAAA... comment`).
    pub public: String,
}

impl KeyPair {
    /// Generates an unencrypted ed25519 key at `path` (and `path.pub`).
    pub fn generate(path: &Path) -> Result<KeyPair, String> {
        Self::generate_with(path, "ed25519", "")
    }

    /// Generates a key of `kind` (`ed25519`, `rsa`, `ecdsa`) with `passphrase` ("" = none).
    pub fn generate_with(path: &Path, kind: &str, passphrase: &str) -> Result<KeyPair, String> {
        let _ = std::fs::remove_file(path);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", passphrase, "-C", "dr-test", "-f"])
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ssh-keygen (apt-get install openssh-client): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ssh-keygen failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let public = std::fs::read_to_string(path.with_extension("pub"))
            .map_err(|e| format!("cannot read the generated public key: {e}"))?
            .trim()
            .to_owned();
        Ok(KeyPair {
            private: path.to_path_buf(),
            public,
        })
    }
}

/// A running sshd.
pub struct Sshd {
    /// The port it listens on (127.0.0.1 only).
    pub port: u16,
    /// Its host key (the public line is what known_hosts should hold).
    pub host_key: KeyPair,
    /// Its private working directory (config, keys, pid file, log).
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Sshd {
    /// Starts sshd in `dir` (created), letting in the holders of `authorized_keys` (public key
    /// lines). Extra `sshd_config` lines go in `extra` (e.g. `SetEnv XDG_CACHE_HOME=/x`).
    /// Panics with a clear message when sshd cannot run here.
    pub fn start(dir: &Path, authorized_keys: &[&str], extra: &[&str]) -> Sshd {
        match Self::try_start(dir, authorized_keys, extra) {
            Ok(s) => s,
            Err(e) => panic!("cannot start a test sshd: {e}"),
        }
    }

    fn try_start(dir: &Path, authorized_keys: &[&str], extra: &[&str]) -> Result<Sshd, String> {
        let sshd = std::env::var("DR_TEST_SSHD").unwrap_or_else(|_| SSHD.to_owned());
        if !Path::new(&sshd).is_file() {
            return Err(format!(
                "`{sshd}` is missing: install OpenSSH's server (`apt-get install -y openssh-server`) \
                 or set DR_TEST_SSHD to an absolute path"
            ));
        }
        // sshd insists on its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let host_key = KeyPair::generate(&dir.join("ssh_host_ed25519_key"))?;
        let auth = dir.join("authorized_keys");
        let mut keys = authorized_keys.join("\n");
        keys.push('\n');
        std::fs::write(&auth, keys).map_err(|e| format!("cannot write authorized_keys: {e}"))?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let config = dir.join("sshd_config");
            let mut text = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 MaxSessions 100\nMaxStartups 200\nLogLevel ERROR\n",
                host_key.private.display(),
                auth.display(),
                dir.join("sshd.pid").display(),
            );
            for line in extra {
                text.push_str(line);
                text.push('\n');
            }
            std::fs::write(&config, text).map_err(|e| format!("cannot write sshd_config: {e}"))?;
            let log = std::fs::File::create(dir.join("sshd.log"))
                .map_err(|e| format!("cannot create the sshd log: {e}"))?;
            let mut child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot run `{sshd}`: {e}"))?;
            match wait_for_banner(port, &mut child) {
                Ok(()) => {
                    return Ok(Sshd {
                        port,
                        host_key,
                        dir: dir.to_path_buf(),
                        child: Some(child),
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default();
                    last = format!("{e}; sshd said: {log}");
                }
            }
        }
        Err(last)
    }

    /// Stops sshd (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The known_hosts line for this server.
    pub fn known_hosts_line(&self) -> String {
        let mut words = self.host_key.public.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}",
            self.port,
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

/// Waits until sshd answers with its `SSH-2.0` banner.
fn wait_for_banner(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("sshd exited at start ({status})"));
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8];
            if stream.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-2.0") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "sshd did not answer on 127.0.0.1:{port} within 10s"
    ))
}
