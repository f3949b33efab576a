//! The agent binaries `dr` can push, one per machine architecture, and the warm-path
//! command that picks the host's one by `uname -m` in the same exec that runs it.
//!
//! Binaries are looked up in `DR_AGENT_DIR`, else beside the running `dr`: `dr-agent-<arch>`
//! (`uname -m` names: `dr-agent-x86_64`, `dr-agent-aarch64`) for any machine, and the plain
//! `dr-agent` (or the file `DR_AGENT` names) for the controller's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dr_agent::escalation::Method;

use super::TransportError;
use super::agent::{AgentBinary, MISSING, shell_quote};
use super::arch;
use super::encoding;

/// Every agent binary found, by canonical `uname -m` name.
pub struct Agents {
    /// Where `dr-agent-<arch>` files are looked for; named in the error for a missing one.
    dir: PathBuf,
    /// The binaries, each hashed once.
    by_arch: BTreeMap<String, Arc<AgentBinary>>,
}

impl Agents {
    /// Finds and hashes the agents from the environment (`DR_AGENT_DIR`, `DR_AGENT`; an
    /// empty variable counts as unset).
    pub fn locate() -> Result<Agents, TransportError> {
        let (dir, paths) = found()?;
        let mut by_arch = BTreeMap::new();
        for (arch, path) in paths {
            let binary = AgentBinary::open(path)?;
            tracing::debug!("agent for {arch}: sha256 {}", binary.sha256);
            by_arch.insert(arch, Arc::new(binary));
        }
        Ok(Agents { dir, by_arch })
    }

    /// The warm path, one exec: learn the machine (`uname -m`), run the cached agent built
    /// for it if present (request on stdin), else say the machine ([`arch::PROBE_MARK`]) and
    /// the unpackers it has ([`encoding::UNPACKERS_MARK`]) on stderr and exit [`MISSING`].
    /// `become_user` runs it through `sudo -n` (never prompts), or with `su` from a root
    /// login (from another, `su` would ask for a password: [`SU_NEEDS_ROOT`] instead).
    pub fn run_command(&self, become_user: Option<&str>, method: Method) -> String {
        let launch = match (become_user, method) {
            (None, _) => "exec \"$f\"".to_owned(),
            (Some("root"), Method::Sudo) => "exec sudo -n \"$f\"".to_owned(),
            (Some(user), Method::Sudo) => format!("exec sudo -n -u {} \"$f\"", shell_quote(user)),
            (Some(user), Method::Su) => {
                let run = if user == "root" {
                    "exec \"$f\"".to_owned()
                } else {
                    // As Ansible's `su`: the command runs through the user's shell.
                    format!("exec su {} -c \"exec '$f'\"", shell_quote(user))
                };
                format!(
                    "if [ \"$(id -u)\" = 0 ]; then {run}; fi; echo {SU_NEEDS_ROOT} >&2; exit 126"
                )
            }
        };
        let cases: String = self
            .by_arch
            .iter()
            .map(|(arch, binary)| {
                format!(
                    "{}) s={};; ",
                    arch::spellings(arch).join("|"),
                    binary.sha256
                )
            })
            .collect();
        format!(
            "m=$(uname -m 2>/dev/null); s=; case \"$m\" in {cases}esac; \
             f=\"${{XDG_CACHE_HOME:-$HOME/.cache}}/dr/dr-agent-$s\"; \
             if [ -n \"$s\" ] && [ -x \"$f\" ]; then {launch}; fi; \
             echo \"{mark}$m\" >&2; {unpackers}; exit {MISSING}",
            mark = arch::PROBE_MARK,
            unpackers = encoding::probe_snippet()
        )
    }

    /// The binary to push to `host`, whose warm-path command ended with `stderr`; refused,
    /// naming the machine and where its agent goes, when there is none.
    pub fn for_host(&self, host: &str, stderr: &str) -> Result<Arc<AgentBinary>, TransportError> {
        let Some(arch) = arch::reported(stderr) else {
            return Err(TransportError::Agent(format!(
                "cannot tell which machine `{host}` is: `uname -m` printed nothing usable there \
                 ({:?})",
                stderr.trim()
            )));
        };
        self.by_arch.get(&arch).cloned().ok_or_else(|| {
            let build = match arch::rust_target(&arch) {
                Some(target) => format!("`dr-agent` for `{target}`"),
                None => format!("`dr-agent` for Linux on {arch}"),
            };
            TransportError::Agent(format!(
                "no agent for `{host}`: its machine is `{arch}` (`uname -m`) and dr has agents \
                 for {} only; build {build} and put it at `{}` (agents are looked up in \
                 DR_AGENT_DIR, else beside `dr`)",
                self.by_arch
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                self.dir.join(format!("dr-agent-{arch}")).display()
            ))
        })
    }
}

/// The agent for the controller's own machine (to run it here), as [`Agents::locate`]
/// finds it.
pub fn own() -> Result<PathBuf, TransportError> {
    let (dir, mut paths) = found()?;
    paths.remove(arch::controller()).ok_or_else(|| {
        TransportError::Agent(format!(
            "no agent for this machine in `{}`: build it (`cargo build -p dr-agent`), install \
             it beside `dr`, or set DR_AGENT_DIR or DR_AGENT",
            dir.display()
        ))
    })
}

/// The agent files the environment names (`DR_AGENT_DIR`, `DR_AGENT`; an empty variable
/// counts as unset), by machine, with the directory they were looked for in.
fn found() -> Result<(PathBuf, BTreeMap<String, PathBuf>), TransportError> {
    let env_path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let (dir, dir_named) = match env_path("DR_AGENT_DIR") {
        Some(dir) => (dir, true),
        None => {
            let exe = std::env::current_exe().map_err(|e| {
                TransportError::Agent(format!("cannot find the running `dr` executable: {e}"))
            })?;
            let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir, false)
        }
    };
    if dir_named && !dir.is_dir() {
        return Err(TransportError::Agent(format!(
            "DR_AGENT_DIR names `{}`, which is not a directory",
            dir.display()
        )));
    }
    let explicit = env_path("DR_AGENT");
    let paths = candidates(&dir, explicit.as_deref(), arch::controller());
    if paths.is_empty() {
        return Err(TransportError::Agent(format!(
            "no agent binary in `{}` (looked for `dr-agent` and `dr-agent-<arch>`): build it \
             (`cargo build -p dr-agent`), install it beside `dr`, or set DR_AGENT_DIR or DR_AGENT",
            dir.display()
        )));
    }
    Ok((dir, paths))
}

/// What the warm path prints on stderr when `su` would have to ask for a password.
pub const SU_NEEDS_ROOT: &str = "dr-su-needs-a-root-login";

/// The agent files for each machine: `dr-agent-<arch>` in `dir` (the canonical spelling wins
/// over an alias such as `arm64`), and for the controller's own machine `own`, `explicit`
/// (`DR_AGENT`) if given, else `dr-agent-<own>`, else the plain `dr-agent`.
fn candidates(dir: &Path, explicit: Option<&Path>, own: &str) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(raw) = name.to_str().and_then(|n| n.strip_prefix("dr-agent-")) else {
            continue;
        };
        let Some(arch) = arch::normalize(raw) else {
            continue;
        };
        if !entry.path().is_file() {
            continue;
        }
        if raw == arch {
            found.insert(arch, entry.path());
        } else {
            found.entry(arch).or_insert_with(|| entry.path());
        }
    }
    if let Some(path) = explicit {
        found.insert(own.to_owned(), path.to_path_buf());
    } else if !found.contains_key(own) && dir.join("dr-agent").is_file() {
        found.insert(own.to_owned(), dir.join("dr-agent"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        path
    }

    #[test]
    fn arch_named_binaries_beside_dr_and_the_plain_one_for_this_machine() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let plain = touch(d, "dr-agent", b"plain");
        touch(d, "dr-agent.d", b"cargo's dep-info, not an agent");
        touch(d, "dr-agent-x86_64.sha256", b"not an agent");
        touch(d, "dr-agent-x86_64.zst", b"its zstd copy, not an agent");
        let arm = touch(d, "dr-agent-arm64", b"arm");
        std::fs::create_dir(d.join("dr-agent-riscv64")).expect("a directory is no agent");

        let found = candidates(d, None, "x86_64");
        assert_eq!(
            found,
            BTreeMap::from([
                ("aarch64".to_owned(), arm.clone()),
                ("x86_64".to_owned(), plain.clone()),
            ])
        );
        // The arch-named file for this machine wins over the plain one ...
        let named = touch(d, "dr-agent-x86_64", b"named");
        assert_eq!(candidates(d, None, "x86_64")["x86_64"], named);
        // ... the canonical spelling over an alias ...
        let canonical = touch(d, "dr-agent-aarch64", b"canonical");
        assert_eq!(candidates(d, None, "x86_64")["aarch64"], canonical);
        // ... and DR_AGENT over both, for this machine only.
        let explicit = touch(d, "elsewhere", b"explicit");
        let found = candidates(d, Some(&explicit), "x86_64");
        assert_eq!(found["x86_64"], explicit);
        assert_eq!(found["aarch64"], canonical);
        // The plain `dr-agent` is only ever this machine's.
        let found = candidates(d, None, "aarch64");
        assert_eq!(found["aarch64"], canonical);
        assert_eq!(found["x86_64"], named);
        assert!(candidates(&d.join("missing"), None, "x86_64").is_empty());
        drop(plain);
    }

    fn agents(dir: &Path, archs: &[&str]) -> Agents {
        let by_arch = archs
            .iter()
            .map(|arch| {
                let path = touch(dir, &format!("dr-agent-{arch}"), arch.as_bytes());
                (
                    arch.to_string(),
                    Arc::new(AgentBinary::open(path).expect("hash")),
                )
            })
            .collect();
        Agents {
            dir: dir.to_path_buf(),
            by_arch,
        }
    }

    #[test]
    fn the_host_reports_its_machine_and_gets_that_binary_or_a_clear_refusal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let set = agents(dir.path(), &["aarch64", "x86_64"]);
        let arm = set
            .for_host("h1", "dr: agent not cached; arch: arm64\n")
            .expect("an agent for arm64");
        assert_eq!(arm.sha256, set.by_arch["aarch64"].sha256);

        let err = set
            .for_host("h2", "dr: agent not cached; arch: riscv64\n")
            .err()
            .expect("no riscv64 agent");
        assert_eq!(
            err.to_string(),
            format!(
                "agent failed: no agent for `h2`: its machine is `riscv64` (`uname -m`) and dr \
                 has agents for aarch64, x86_64 only; build `dr-agent` for \
                 `riscv64gc-unknown-linux-gnu` and put it at `{}` (agents are looked up in \
                 DR_AGENT_DIR, else beside `dr`)",
                dir.path().join("dr-agent-riscv64").display()
            )
        );
        let err = set
            .for_host("h3", "dr: agent not cached; arch: \n")
            .err()
            .expect("no uname");
        assert!(
            err.to_string()
                .contains("cannot tell which machine `h3` is"),
            "{err}"
        );
    }

    #[test]
    fn the_warm_command_maps_each_machine_to_its_hash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let set = agents(dir.path(), &["aarch64", "x86_64"]);
        let (arm, x86) = (
            &set.by_arch["aarch64"].sha256,
            &set.by_arch["x86_64"].sha256,
        );
        let run = set.run_command(None, Method::Sudo);
        assert!(
            run.contains(&format!(
                "aarch64|arm64) s={arm};; x86_64|amd64) s={x86};; esac"
            )) && run.contains("dr/dr-agent-$s")
                && run.contains("exit 97"),
            "{run}"
        );
        assert!(
            set.run_command(Some("root"), Method::Sudo)
                .contains("exec sudo -n \"$f\"")
        );
        assert!(
            set.run_command(Some("o'k"), Method::Sudo)
                .contains("sudo -n -u 'o'\\''k'")
        );
        // `su` only from root; from another login it would ask for a password.
        let su = set.run_command(Some("app"), Method::Su);
        assert!(
            su.contains("if [ \"$(id -u)\" = 0 ]; then exec su 'app' -c \"exec '$f'\"; fi; echo dr-su-needs-a-root-login >&2; exit 126"),
            "{su}"
        );
        assert!(
            set.run_command(Some("root"), Method::Su)
                .contains("then exec \"$f\"; fi; echo dr-su")
        );
    }

    /// The warm command run by the real shell here: a cached agent for this machine is
    /// executed; without one, the machine is reported on stderr with exit 97.
    #[test]
    fn the_warm_command_runs_in_sh() {
        let dir = tempfile::tempdir().expect("temp dir");
        let set = agents(dir.path(), &[arch::controller(), "s390x"]);
        let cache = dir.path().join("cache");
        let sh = |command: &str| {
            std::process::Command::new("sh")
                .args(["-c", command])
                .env("XDG_CACHE_HOME", &cache)
                .output()
                .expect("sh runs")
        };
        let out = sh(&set.run_command(None, Method::Sudo));
        assert_eq!(out.status.code(), Some(97));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            arch::reported(&stderr).as_deref(),
            Some(arch::controller()),
            "{stderr}"
        );

        std::fs::create_dir_all(cache.join("dr")).expect("cache dir");
        let sha = &set.by_arch[arch::controller()].sha256;
        let cached = cache.join(format!("dr/dr-agent-{sha}"));
        std::fs::write(&cached, "#!/bin/sh\necho ran cached agent\n").expect("write");
        std::fs::set_permissions(&cached, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod");
        let out = sh(&set.run_command(None, Method::Sudo));
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            (Some(0), "ran cached agent")
        );
    }
}
