//! One agent binary (see `agents.rs` for how the host's one is chosen): named on the host
//! by its SHA-256 so a cached copy is the right one, and pushed over the connection when
//! the host lacks it.
//!
//! Only the hash is computed up front (streamed, nothing kept). The bytes are read on the
//! first push and sent gzip-compressed (about 2.8× fewer bytes to encrypt and send), one
//! shared buffer for every host; a host without `gzip` gets the plain binary instead.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::TransportError;
use super::exec;
use super::session::Session;

/// The remote command exits with this when the cached agent is missing.
pub const MISSING: u32 = 97;

/// The push command exits with this when the host has no `gzip` (nothing read, nothing
/// written): the plain binary is sent instead.
const NO_GZIP: u32 = 96;

/// Agent uploads running at once, across all hosts.
static PUSHES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// The local `dr-agent` binary.
pub struct AgentBinary {
    /// Where it was found.
    path: PathBuf,
    /// Lowercase hex SHA-256 of the binary.
    pub sha256: String,
    /// The gzip-compressed binary, made on the first push and shared by every push.
    packed: OnceCell<Result<Bytes, TransportError>>,
    /// The plain binary, read only for a host without `gzip`.
    plain: OnceCell<Result<Bytes, TransportError>>,
}

impl AgentBinary {
    /// Hashes the agent binary at `path` (streamed, nothing kept).
    pub fn open(path: PathBuf) -> Result<AgentBinary, TransportError> {
        let (sha256, len) = stream_file(&path, &mut std::io::sink()).map_err(|e| {
            TransportError::Agent(format!(
                "cannot read the agent binary `{}`: {e}; build it (`cargo build -p dr-agent`), \
                 install it beside `dr`, or set DR_AGENT_DIR or DR_AGENT",
                path.display()
            ))
        })?;
        tracing::debug!("agent `{}`: {len} bytes, sha256 {sha256}", path.display());
        Ok(AgentBinary {
            path,
            sha256,
            packed: OnceCell::new(),
            plain: OnceCell::new(),
        })
    }

    /// The cold path: stream the binary to a temp file beside its final name, check it on
    /// the host, then rename it into place (atomic; concurrent pushes are safe; the temp
    /// file is removed on any failure). Compressed (`packed`), gzip's own check (CRC-32 and
    /// length of the output) proves the bytes are the ones hashed here; plain, the host
    /// hashes the file and compares.
    fn push_command(&self, packed: bool) -> String {
        let sha = &self.sha256;
        let receive = if packed {
            format!("command -v gzip >/dev/null 2>&1 || exit {NO_GZIP}; gzip -dc > \"$t\"")
        } else {
            format!(
                "cat > \"$t\"; \
                 if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum \"$t\"); else s=$(shasum -a 256 \"$t\"); fi; \
                 s=${{s%% *}}; \
                 if [ \"$s\" != {sha} ]; then echo \"dr: uploaded agent has sha256 $s, expected {sha}\" >&2; exit 98; fi"
            )
        };
        format!(
            "set -e; umask 077; d=\"${{XDG_CACHE_HOME:-$HOME/.cache}}/dr\"; mkdir -p \"$d\"; \
             t=\"$d/.dr-agent-{sha}.$$\"; trap 'rm -f \"$t\"' EXIT; {receive}; \
             chmod 700 \"$t\"; mv -f \"$t\" \"$d/dr-agent-{sha}\""
        )
    }

    /// Streams the binary again into `sink`, checking it is still the one hashed at the
    /// start of the run.
    fn read_checked(&self, sink: &mut impl Write) -> Result<u64, TransportError> {
        let (sha256, len) = stream_file(&self.path, sink).map_err(|e| {
            TransportError::Agent(format!(
                "cannot read the agent binary `{}`: {e}",
                self.path.display()
            ))
        })?;
        if sha256 != self.sha256 {
            return Err(TransportError::Agent(format!(
                "the agent binary `{}` changed during the run; run dr again",
                self.path.display()
            )));
        }
        Ok(len)
    }

    /// The binary, gzip-compressed as it is read (fast level: once per run, cold path only;
    /// the uncompressed bytes are never all in memory).
    fn packed_bytes(&self) -> Result<Bytes, TransportError> {
        let started = std::time::Instant::now();
        let failed =
            |e: std::io::Error| TransportError::Agent(format!("cannot compress the agent: {e}"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let len = self.read_checked(&mut enc)?;
        let mut gz = enc.finish().map_err(failed)?;
        gz.shrink_to_fit();
        tracing::debug!(
            "agent compressed {len} -> {} bytes in {} ms",
            gz.len(),
            started.elapsed().as_millis()
        );
        Ok(Bytes::from(gz))
    }

    /// The binary as it is.
    fn plain_bytes(&self) -> Result<Bytes, TransportError> {
        let mut bytes = Vec::new();
        self.read_checked(&mut bytes)?;
        Ok(Bytes::from(bytes))
    }

    /// What a push sends: the compressed binary, or the plain one (each made once per run).
    async fn payload(self: &Arc<Self>, packed: bool) -> Result<Bytes, TransportError> {
        let cell = if packed { &self.packed } else { &self.plain };
        cell.get_or_init(|| {
            let me = self.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    if packed {
                        me.packed_bytes()
                    } else {
                        me.plain_bytes()
                    }
                })
                .await
                .map_err(|e| TransportError::Agent(format!("internal error (a bug in dr): {e}")))?
            }
        })
        .await
        .clone()
    }

    /// Uploads the agent to the host behind `session`.
    #[tracing::instrument(skip_all, fields(host = %host))]
    pub async fn push(
        self: &Arc<Self>,
        host: &str,
        session: &Session,
    ) -> Result<(), TransportError> {
        // A few pushes at a time: each holds up to a channel window of encrypted data in
        // flight, so fifty at once would hold fifty windows (and go no faster over one link).
        let _permit = PUSHES.acquire().await.map_err(|_| {
            TransportError::Agent("the agent push queue was closed (a bug in dr)".into())
        })?;
        let started = std::time::Instant::now();
        let mut packed = true;
        let (exit, sent) = loop {
            let payload = self.payload(packed).await?;
            let sent = payload.len();
            let exit = exec::run(&session.handle, &self.push_command(packed), payload, |_| {})
                .await
                .map_err(|e| {
                    TransportError::Unreachable(format!(
                        "connection to `{host}` lost while pushing the agent: {e}"
                    ))
                })?;
            if packed && exit.status == Some(NO_GZIP) {
                tracing::info!("`{host}` has no gzip: pushing the agent uncompressed");
                packed = false;
                continue;
            }
            break (exit, sent);
        };
        if exit.status != Some(0) {
            return Err(TransportError::Agent(format!(
                "cannot install the agent on `{host}` (exit {}): {}",
                exit.status.map_or_else(|| "none".into(), |s| s.to_string()),
                exit.stderr
            )));
        }
        tracing::info!(
            "pushed dr-agent to `{host}`: {sent} bytes{} in {} ms",
            if packed { " (gzip)" } else { "" },
            started.elapsed().as_millis()
        );
        Ok(())
    }
}

/// Streams the file at `path` into `sink` in 64 KiB pieces; returns its SHA-256 (lowercase
/// hex) and length.
fn stream_file(path: &Path, sink: &mut impl Write) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// `s` as one single-quoted shell word.
pub(super) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_commands_name_the_hash() {
        let agent = AgentBinary {
            path: PathBuf::from("dr-agent"),
            sha256: "ab12".into(),
            packed: OnceCell::new(),
            plain: OnceCell::new(),
        };
        let packed = agent.push_command(true);
        assert!(
            packed.contains("gzip -dc") && packed.contains("exit 96") && packed.contains("mv -f"),
            "{packed}"
        );
        let plain = agent.push_command(false);
        assert!(
            plain.contains("cat > \"$t\"") && plain.contains("!= ab12") && !plain.contains("gzip"),
            "{plain}"
        );
    }

    #[test]
    fn gzip_round_trips_and_a_changed_binary_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dr-agent");
        let body: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        std::fs::write(&path, &body).expect("write");
        let agent = AgentBinary {
            path: path.clone(),
            sha256: hex::encode(Sha256::digest(&body)),
            packed: OnceCell::new(),
            plain: OnceCell::new(),
        };
        assert_eq!(&agent.plain_bytes().expect("plain")[..], &body[..]);
        let gz = agent.packed_bytes().expect("compressed");
        assert!(gz.len() < body.len() / 2, "{} -> {}", body.len(), gz.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, body);

        std::fs::write(&path, b"rebuilt").expect("write");
        let err = agent
            .packed_bytes()
            .expect_err("a changed binary is refused");
        assert!(err.to_string().contains("changed during the run"), "{err}");
    }
}
