//! The agent binary: found beside `dr` (or `DR_AGENT`), named on the host by its SHA-256 so
//! a cached copy is the right one, and pushed over the connection when the host lacks it.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::TransportError;
use super::exec;
use super::session::Session;

/// The remote command exits with this when the cached agent is missing.
pub const MISSING: u32 = 97;

/// Agent uploads running at once, across all hosts.
static PUSHES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// The local `dr-agent` binary, read once per run.
pub struct AgentBinary {
    /// Its bytes, as uploaded (shared by every push, never copied per host).
    pub bytes: bytes::Bytes,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
}

impl AgentBinary {
    /// Finds and reads the agent: `DR_AGENT`, else `dr-agent` beside the running `dr`.
    pub fn locate() -> Result<AgentBinary, TransportError> {
        let path = match std::env::var_os("DR_AGENT") {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe()
                .map_err(|e| {
                    TransportError::Agent(format!("cannot find the running `dr` executable: {e}"))
                })?
                .with_file_name("dr-agent"),
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            TransportError::Agent(format!(
                "cannot read the agent binary `{}`: {e}; build it (`cargo build -p dr-agent`), \
                 install it beside `dr`, or set DR_AGENT",
                path.display()
            ))
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        tracing::debug!(
            "agent `{}`: {} bytes, sha256 {sha256}",
            path.display(),
            bytes.len()
        );
        Ok(AgentBinary {
            bytes: bytes.into(),
            sha256,
        })
    }

    /// The warm path, one exec: run the cached agent if present (request on stdin), else
    /// exit [`MISSING`]. `become_user` runs it through `sudo -n` (never prompts).
    pub fn run_command(&self, become_user: Option<&str>) -> String {
        let prefix = match become_user {
            None => String::new(),
            Some("root") => "sudo -n ".to_owned(),
            Some(user) => format!("sudo -n -u {} ", shell_quote(user)),
        };
        format!(
            "f=\"${{XDG_CACHE_HOME:-$HOME/.cache}}/dr/dr-agent-{sha}\"; \
             if [ -x \"$f\" ]; then exec {prefix}\"$f\"; fi; \
             echo 'dr: agent not cached' >&2; exit {MISSING}",
            sha = self.sha256
        )
    }

    /// The cold path: stream the binary to a temp file beside its final name, check its
    /// hash on the host, then rename it into place (atomic; concurrent pushes are safe).
    fn push_command(&self) -> String {
        format!(
            "set -e; umask 077; d=\"${{XDG_CACHE_HOME:-$HOME/.cache}}/dr\"; mkdir -p \"$d\"; \
             t=\"$d/.dr-agent-{sha}.$$\"; cat > \"$t\"; \
             if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum \"$t\"); else s=$(shasum -a 256 \"$t\"); fi; \
             s=${{s%% *}}; \
             if [ \"$s\" != {sha} ]; then rm -f \"$t\"; echo \"dr: uploaded agent has sha256 $s, expected {sha}\" >&2; exit 98; fi; \
             chmod 700 \"$t\"; mv -f \"$t\" \"$d/dr-agent-{sha}\"",
            sha = self.sha256
        )
    }

    /// Uploads the agent to the host behind `session`.
    #[tracing::instrument(skip_all, fields(host = %host))]
    pub async fn push(&self, host: &str, session: &Session) -> Result<(), TransportError> {
        // A few pushes at a time: each holds up to a channel window of encrypted data in
        // flight, so fifty at once would hold fifty windows (and go no faster over one link).
        let _permit = PUSHES.acquire().await.map_err(|_| {
            TransportError::Agent("the agent push queue was closed (a bug in dr)".into())
        })?;
        let started = std::time::Instant::now();
        let exit = exec::run(
            &session.handle,
            &self.push_command(),
            self.bytes.clone(),
            |_| {},
        )
        .await
        .map_err(|e| {
            TransportError::Unreachable(format!(
                "connection to `{host}` lost while pushing the agent: {e}"
            ))
        })?;
        if exit.status != Some(0) {
            return Err(TransportError::Agent(format!(
                "cannot install the agent on `{host}` (exit {}): {}",
                exit.status.map_or_else(|| "none".into(), |s| s.to_string()),
                exit.stderr
            )));
        }
        tracing::info!(
            "pushed dr-agent to `{host}`: {} bytes in {} ms",
            self.bytes.len(),
            started.elapsed().as_millis()
        );
        Ok(())
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_hash_and_quote_users() {
        let agent = AgentBinary {
            bytes: bytes::Bytes::from_static(b"x"),
            sha256: "ab12".into(),
        };
        let run = agent.run_command(None);
        assert!(
            run.contains("dr/dr-agent-ab12") && run.contains("exit 97"),
            "{run}"
        );
        assert!(
            agent
                .run_command(Some("root"))
                .contains("exec sudo -n \"$f\"")
        );
        assert!(
            agent
                .run_command(Some("o'k"))
                .contains("sudo -n -u 'o'\\''k'")
        );
        assert!(agent.push_command().contains("mv -f"));
    }
}
