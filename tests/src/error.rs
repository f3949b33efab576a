//! The test bed's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building, starting or driving the test bed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `docker` command could not be run at all.
    #[error(
        "the test bed needs Docker: cannot run `{program}`: {source} \
         (install the Docker engine and CLI, e.g. Debian's `docker.io`, or set DR_TESTBED_DOCKER)"
    )]
    DockerMissing {
        /// The program that was tried.
        program: String,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// `docker` runs but the engine does not answer.
    #[error(
        "the test bed needs a running Docker engine: `{program} version` failed: {stderr} \
         (start the daemon, e.g. `service docker start`)"
    )]
    DockerDaemonDown {
        /// The docker program used.
        program: String,
        /// What docker said.
        stderr: String,
    },
    /// A command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (and stdout, when stderr was empty).
        stderr: String,
    },
    /// A command could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line, for the reader.
        command: String,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// A file or directory of the test bed could not be read or written.
    #[error("`{}`: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// No Debian mirror is known to build the root filesystem from.
    #[error(
        "no Debian bookworm mirror found in the apt sources (/etc/apt/sources.list, \
         /etc/apt/sources.list.d/): set DR_TESTBED_DEBIAN_MIRROR to a mirror's URI"
    )]
    NoDebianMirror,
    /// Something did not happen in time.
    #[error("timed out after {seconds} s waiting for {what}{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
        /// The last error seen while waiting, if any.
        last_error: Option<String>,
    },
    /// A host name that is not part of the topology.
    #[error("unknown test bed host `{name}` (hosts: {known})")]
    UnknownHost {
        /// The name asked for.
        name: String,
        /// The hosts there are.
        known: String,
    },
    /// Docker said something the harness does not understand.
    #[error("unexpected answer from `{command}`: {detail}")]
    Unexpected {
        /// The command that answered.
        command: String,
        /// What was wrong with its answer.
        detail: String,
    },
}

/// The test bed's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
