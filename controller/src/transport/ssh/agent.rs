//! One agent binary (see `agents.rs` for how the host's one is chosen): named on the host
//! by its SHA-256 so a cached copy is the right one, and pushed over the connection when
//! the host lacks it.
//!
//! Only the hash is computed up front (streamed, nothing kept). The bytes are read on the
//! first push and sent compressed as the host can unpack them (see `encoding.rs`: zstd,
//! else gzip, else plain), one shared buffer per encoding for every host. A zstd copy made
//! when the agent was built (`dr-agent-<arch>.zst` beside it, `tests/build-agent`: level 19,
//! a fifth fewer bytes than level 3, too slow to make per run) is sent as it is, once its
//! frame is checked to declare the very binary hashed (its length and zstd's checksum of it).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::TransportError;
use super::encoding::Encoding;
use super::exec;
use super::session::Session;
use super::zstd_frame::{self, ContentChecksum};

/// The remote command exits with this when the cached agent is missing.
pub const MISSING: u32 = 97;

/// The push command exits with this when the host lacks the unpacker (nothing read,
/// nothing written): the next encoding is sent instead.
const NO_UNPACKER: u32 = 96;

/// Agent uploads running at once, across all hosts. Measured at 50 cold hosts (README,
/// Performance): 8 at once took 3.2× the SSH floor, 16 2.5×, 32 2.6× and no limit 2.3×
/// (noise between those three). A bound all the same: a 1,000-host run does not open
/// 1,000 uploads at once.
const PUSH_LIMIT: usize = 32;

/// Uploads waiting for or holding one of the [`PUSH_LIMIT`] places.
static PUSHES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PUSH_LIMIT);

/// zstd level: 3 compresses an 11 MB agent to 4.7 MB in ~60 ms (once per run, on the
/// critical path of every cold host); 6 saves 7% more for three times the time.
const ZSTD_LEVEL: i32 = 3;

/// The local `dr-agent` binary.
pub struct AgentBinary {
    /// Where it was found.
    path: PathBuf,
    /// Lowercase hex SHA-256 of the binary.
    pub sha256: String,
    /// The binary in each encoding (as [`Encoding::PREFERENCE`] orders them), made on the
    /// first push that needs it and shared by every push.
    payloads: [OnceCell<Result<Bytes, TransportError>>; 3],
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
            payloads: Default::default(),
        })
    }

    /// The cold path: stream the binary to a temp file beside its final name, check it on
    /// the host, then rename it into place (atomic; concurrent pushes are safe; the temp
    /// file is removed on any failure, a cut upload included). Compressed, the unpacker's
    /// own check (gzip: CRC-32 and length; zstd: the frame's content checksum) proves the
    /// bytes are the ones hashed here, since they were compressed from a stream checked
    /// against that hash; plain, the host hashes the file and compares.
    fn push_command(&self, encoding: Encoding) -> String {
        let sha = &self.sha256;
        let receive = if let (Some(tool), Some(unpack)) =
            (encoding.tool(), encoding.unpack_command())
        {
            format!("command -v {tool} >/dev/null 2>&1 || exit {NO_UNPACKER}; {unpack} > \"$t\"")
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

    /// The binary in `encoding`, compressed as it is read (once per run, cold path only;
    /// the uncompressed bytes are never all in memory).
    fn encoded_bytes(&self, encoding: Encoding) -> Result<Bytes, TransportError> {
        let started = std::time::Instant::now();
        let failed =
            |e: std::io::Error| TransportError::Agent(format!("cannot compress the agent: {e}"));
        if encoding == Encoding::Zstd
            && let Some(built) = self.prebuilt_zstd()
        {
            tracing::debug!(
                "agent: sending the zstd copy made at build time ({} bytes)",
                built.len()
            );
            return Ok(built);
        }
        let (len, mut out) = match encoding {
            Encoding::Plain => return self.plain_bytes(),
            Encoding::Gzip => {
                let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
                let len = self.read_checked(&mut enc)?;
                (len, enc.finish().map_err(failed)?)
            }
            Encoding::Zstd => {
                let mut enc = zstd::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(failed)?;
                enc.include_checksum(true).map_err(failed)?;
                let len = self.read_checked(&mut enc)?;
                (len, enc.finish().map_err(failed)?)
            }
        };
        out.shrink_to_fit();
        tracing::debug!(
            "agent compressed ({}) {len} -> {} bytes in {} ms",
            encoding.label(),
            out.len(),
            started.elapsed().as_millis()
        );
        Ok(Bytes::from(out))
    }

    /// The zstd copy made when the agent was built, `<agent>.zst`, if it is this binary's:
    /// one checksummed frame whose recorded content size and checksum (the one the host's
    /// `zstd -d` checks) are this binary's, read while the binary is checked to be the one
    /// hashed at the start of the run. Checked without unpacking it (the first cold host
    /// waits for this): a copy of another build matches both only by a 1 in 2^32 accident.
    /// One that does not match (stale after a rebuild, cut, without the checksum) is passed
    /// over, with a warning: the push then compresses the binary itself.
    fn prebuilt_zstd(&self) -> Option<Bytes> {
        let mut name = self.path.clone().into_os_string();
        name.push(".zst");
        let path = PathBuf::from(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(
                    "cannot read `{}` ({e}): compressing the agent",
                    path.display()
                );
                return None;
            }
        };
        let is_this_binarys = zstd_frame::declared(&bytes).is_some_and(|declared| {
            let mut checksum = ContentChecksum::default();
            self.read_checked(&mut checksum)
                .is_ok_and(|len| len == declared.size && checksum.value() == declared.checksum)
        });
        if !is_this_binarys {
            tracing::warn!(
                "`{}` is not a checksummed zstd copy of `{}` (made from another build?): \
                 compressing the agent instead; run tests/build-agent again to renew it",
                path.display(),
                self.path.display()
            );
            return None;
        }
        Some(Bytes::from(bytes))
    }

    /// The binary as it is.
    fn plain_bytes(&self) -> Result<Bytes, TransportError> {
        let mut bytes = Vec::new();
        self.read_checked(&mut bytes)?;
        Ok(Bytes::from(bytes))
    }

    /// What a push in `encoding` sends (made once per run).
    async fn payload(self: &Arc<Self>, encoding: Encoding) -> Result<Bytes, TransportError> {
        let at = Encoding::PREFERENCE
            .iter()
            .position(|e| *e == encoding)
            .unwrap_or(Encoding::PREFERENCE.len() - 1);
        self.payloads[at]
            .get_or_init(|| {
                let me = self.clone();
                async move {
                    tokio::task::spawn_blocking(move || me.encoded_bytes(encoding))
                        .await
                        .map_err(|e| {
                            TransportError::Agent(format!("internal error (a bug in dr): {e}"))
                        })?
                }
            })
            .await
            .clone()
    }

    /// Uploads the agent to the host behind `session`, in `encoding` (the best the host
    /// said it can unpack), falling back to the next one if it lacks the tool after all.
    #[tracing::instrument(skip_all, fields(host = %host))]
    pub async fn push(
        self: &Arc<Self>,
        host: &str,
        session: &Session,
        mut encoding: Encoding,
    ) -> Result<(), TransportError> {
        // Each upload holds up to a channel window of data in flight and its connection's
        // packet buffer grows to a batch of packets: a bounded number at once.
        let _permit = PUSHES.acquire().await.map_err(|_| {
            TransportError::Agent("the agent push queue was closed (a bug in dr)".into())
        })?;
        let started = std::time::Instant::now();
        let (exit, sent) = loop {
            let payload = self.payload(encoding).await?;
            let sent = payload.len();
            let exit = exec::run(
                &session.handle,
                &self.push_command(encoding),
                payload,
                (&session.flow, session.rtt),
                |_| {},
            )
            .await
            .map_err(|e| {
                TransportError::Unreachable(format!(
                    "connection to `{host}` lost while pushing the agent: {e}"
                ))
            })?;
            if exit.status == Some(NO_UNPACKER)
                && let Some(next) = encoding.fallback()
            {
                tracing::info!(
                    "`{host}` has no {}: pushing the agent as {}",
                    encoding.label(),
                    next.label()
                );
                encoding = next;
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
        let paced = exit.paced.map_or_else(String::new, |limit| {
            format!(", paced to {} KiB unconsumed", limit.div_ceil(1024))
        });
        tracing::info!(
            "pushed dr-agent to `{host}`: {sent} bytes ({}) in {} ms{paced}",
            encoding.label(),
            started.elapsed().as_millis()
        );
        Ok(())
    }
}

/// Streams the file at `path` into `sink` in 64 KiB pieces; returns its SHA-256 (lowercase
/// hex) and length.
fn stream_file(path: &Path, sink: &mut impl Write) -> std::io::Result<(String, u64)> {
    let mut source = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match source.read(&mut buf) {
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

    fn agent_at(path: PathBuf, body: &[u8]) -> Arc<AgentBinary> {
        Arc::new(AgentBinary {
            path,
            sha256: hex::encode(Sha256::digest(body)),
            payloads: Default::default(),
        })
    }

    #[test]
    fn push_commands_name_the_hash() {
        let agent = agent_at(PathBuf::from("dr-agent"), b"x");
        let sha = agent.sha256.clone();
        for (encoding, unpack) in [
            (Encoding::Zstd, "zstd -q -d -c"),
            (Encoding::Gzip, "gzip -dc"),
        ] {
            let cmd = agent.push_command(encoding);
            assert!(
                cmd.contains(unpack) && cmd.contains("exit 96") && cmd.contains("mv -f"),
                "{cmd}"
            );
        }
        let plain = agent.push_command(Encoding::Plain);
        assert!(
            plain.contains("cat > \"$t\"")
                && plain.contains(&format!("!= {sha}"))
                && !plain.contains("gzip"),
            "{plain}"
        );
    }

    /// Every encoding round-trips through the real unpacker, and a binary changed since the
    /// run started is refused.
    #[test]
    fn encodings_round_trip_and_a_changed_binary_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dr-agent");
        let body = sample_body();
        std::fs::write(&path, &body).expect("write");
        let agent = agent_at(path.clone(), &body);
        assert_eq!(&agent.plain_bytes().expect("plain")[..], &body[..]);
        let gz = agent.encoded_bytes(Encoding::Gzip).expect("gzip");
        assert!(gz.len() < body.len() / 2, "{} -> {}", body.len(), gz.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, body);
        let zst = agent.encoded_bytes(Encoding::Zstd).expect("zstd");
        assert!(
            zst.len() < body.len() / 2,
            "{} -> {}",
            body.len(),
            zst.len()
        );
        assert_eq!(zstd::decode_all(&zst[..]).expect("unzstd"), body);

        std::fs::write(&path, b"rebuilt").expect("write");
        for encoding in Encoding::PREFERENCE {
            let err = agent
                .encoded_bytes(encoding)
                .expect_err("a changed binary is refused");
            assert!(err.to_string().contains("changed during the run"), "{err}");
        }
    }

    /// The zstd copy beside the agent (made by the zstd tool, as tests/build-agent makes
    /// it) is sent as it is when it unpacks to the binary hashed and has its checksum;
    /// a stale one, or one without the checksum, is passed over for a fresh compression.
    #[test]
    fn a_zstd_copy_made_at_build_time_is_sent_only_if_it_is_this_binarys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dr-agent-x86_64");
        let zst = dir.path().join("dr-agent-x86_64.zst");
        let body = sample_body();
        std::fs::write(&path, &body).expect("write");
        let make_zst = |from: &Path, flags: &[&str]| {
            let status = std::process::Command::new("zstd")
                .args(["-q", "-f", "-19"])
                .args(flags)
                .arg("-o")
                .arg(&zst)
                .arg(from)
                .status()
                .expect("this test needs `zstd` (apt-get install -y zstd)");
            assert!(status.success());
        };
        let sent = || {
            let agent = agent_at(path.clone(), &body);
            let bytes = agent.encoded_bytes(Encoding::Zstd).expect("zstd");
            assert_eq!(zstd::decode_all(&bytes[..]).expect("unzstd"), body);
            bytes
        };

        make_zst(&path, &[]);
        assert_eq!(&sent()[..], &std::fs::read(&zst).expect("read")[..]);

        make_zst(&path, &["--no-check"]);
        assert_ne!(&sent()[..], &std::fs::read(&zst).expect("read")[..]);

        let other = dir.path().join("older-build");
        std::fs::write(&other, &body[..body.len() - 1]).expect("write");
        make_zst(&other, &[]);
        assert_ne!(&sent()[..], &std::fs::read(&zst).expect("read")[..]);
        // Same length, one byte different: told apart by the checksum.
        let mut changed = body.clone();
        changed[body.len() / 3] ^= 1;
        std::fs::write(&other, &changed).expect("write");
        make_zst(&other, &[]);
        assert_ne!(&sent()[..], &std::fs::read(&zst).expect("read")[..]);

        std::fs::write(&zst, b"not zstd at all").expect("write");
        sent();
    }

    fn sample_body() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    /// The push command run by the real shell and unpackers here: a whole upload lands
    /// under its hash name; a cut or corrupted one leaves nothing behind (no agent, no temp
    /// file), so it can never be run.
    #[test]
    fn a_cut_or_corrupted_upload_never_becomes_the_agent() {
        for tool in ["zstd", "gzip", "sha256sum"] {
            let found = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .expect("sh runs");
            assert!(
                found.status.success(),
                "this test needs `{tool}` (apt-get install -y zstd gzip coreutils)"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dr-agent");
        let body = sample_body();
        std::fs::write(&path, &body).expect("write");
        let agent = agent_at(path, &body);
        let cache = dir.path().join("cache");
        let installed = cache.join(format!("dr/dr-agent-{}", agent.sha256));
        let push = |encoding: Encoding, payload: &[u8]| {
            let mut child = std::process::Command::new("sh")
                .args(["-c", &agent.push_command(encoding)])
                .env("XDG_CACHE_HOME", &cache)
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("sh runs");
            let mut stdin = child.stdin.take().expect("stdin");
            // The unpacker may stop reading early on bad input: a broken pipe is expected.
            let _ = stdin.write_all(payload);
            drop(stdin);
            let out = child.wait_with_output().expect("sh ends");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let leftovers = || -> Vec<String> {
            std::fs::read_dir(cache.join("dr"))
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        for encoding in Encoding::PREFERENCE {
            let good = agent.encoded_bytes(encoding).expect("payload");
            let cut = &good[..good.len() * 2 / 3];
            let mut flipped = good.to_vec();
            let middle = flipped.len() / 2;
            flipped[middle] ^= 0x5a;
            for (what, payload) in [("cut", cut), ("corrupted", &flipped[..])] {
                let (code, stderr) = push(encoding, payload);
                assert_ne!(
                    code,
                    Some(0),
                    "{encoding:?} {what} upload accepted: {stderr}"
                );
                assert_eq!(leftovers(), Vec::<String>::new(), "{encoding:?} {what}");
            }
            let (code, stderr) = push(encoding, &good);
            assert_eq!(code, Some(0), "{encoding:?}: {stderr}");
            assert_eq!(std::fs::read(&installed).expect("installed"), body);
            assert_eq!(
                leftovers(),
                vec![format!("dr-agent-{}", agent.sha256)],
                "{encoding:?}"
            );
            std::fs::remove_file(&installed).expect("remove");
        }
    }
}
