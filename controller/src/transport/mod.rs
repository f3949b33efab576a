//! How a node's request reaches its host: in process (local) or over SSH. Both run the
//! same agent engine; the scheduler sees only this trait.

mod local;
mod local_sudo;
mod ssh;
mod stop;

use std::future::Future;
use std::pin::Pin;

use dr_agent::wire::{Answer, Event, Request};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

pub use local::Local;
pub use stop::{StopLevel, StopWatch, never, reached};

use crate::inventory::Connection;

/// The controller's answers to the agent's sync points (`docs/cross-host.md`), passed on
/// to the agent as they come. Boxed, as [`Events`] are.
pub type Answers = UnboundedReceiver<Box<Answer>>;

/// Where a transport sends the agent's events. Boxed: a queue's first block holds 32 of
/// them, and at 300 hosts 32 unboxed events per host were ~5 MB of the controller's memory.
pub type Events = UnboundedSender<Box<Event>>;

/// A boxed future, so transports can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a node could not run (as opposed to a task failing on the host).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The host could not be reached or authenticated. (The outcome is printed as
    /// "unreachable: <reason>", so the message carries no prefix of its own.)
    #[error("{0}")]
    Unreachable(String),
    /// The host key is unknown or changed; refused.
    #[error("{0}")]
    HostKey(String),
    /// The agent could not be started or spoke nonsense.
    #[error("agent failed: {0}")]
    Agent(String),
    /// This kind of connection is not available.
    #[error("{0}")]
    Unsupported(String),
    /// The operator stopped the run: the node was killed, or never started its play.
    #[error("interrupted")]
    Interrupted,
}

/// Runs one request on one host, sending the agent's events as they arrive. Returns when
/// the agent has sent its last event (`Finished`) or the connection failed.
///
/// `stop` is the run's stop level: at [`StopLevel::AfterTask`] the agent is told to finish
/// its running task and start no other (it still ends with `Finished`); at
/// [`StopLevel::Now`] the running task is killed and `run` returns
/// [`TransportError::Interrupted`] at once, sending no further events. `answers` reach
/// the agent while it runs.
pub trait Transport: Send + Sync {
    /// Runs `request` on `host` (reached through `conn`).
    fn run<'a>(
        &'a self,
        host: &'a str,
        conn: &'a Connection,
        request: Request,
        events: Events,
        answers: Answers,
        stop: StopWatch,
    ) -> BoxFuture<'a, Result<(), TransportError>>;

    /// The run has nothing more for `host` (no node of it waits or runs): what the
    /// transport holds for it (a connection, its buffers) may go. A later `run` on the
    /// host (a delegated task) must still work, at the cost of what was let go.
    fn release(&self, host: &str) {
        let _ = host;
    }
}

/// Routes each node to the transport for its connection kind.
pub struct Router {
    local: Local,
    ssh: Option<Box<dyn Transport>>,
}

impl Router {
    /// Local only; SSH nodes fail with a clear message.
    pub fn local_only() -> Self {
        Router {
            local: Local,
            ssh: None,
        }
    }

    /// Local plus an SSH transport.
    pub fn with_ssh(ssh: Box<dyn Transport>) -> Self {
        Router {
            local: Local,
            ssh: Some(ssh),
        }
    }
}

impl Transport for Router {
    fn run<'a>(
        &'a self,
        host: &'a str,
        conn: &'a Connection,
        request: Request,
        events: Events,
        answers: Answers,
        stop: StopWatch,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        match (conn, &self.ssh) {
            (Connection::Local, _) => self.local.run(host, conn, request, events, answers, stop),
            (Connection::Ssh { .. }, Some(ssh)) => {
                ssh.run(host, conn, request, events, answers, stop)
            }
            (Connection::Ssh { .. }, None) => Box::pin(async move {
                Err(TransportError::Unsupported(format!(
                    "`{host}` needs an SSH connection, which this build of dr does not have yet; use `ansible_connection: local`"
                )))
            }),
        }
    }

    fn release(&self, host: &str) {
        if let Some(ssh) = &self.ssh {
            ssh.release(host);
        }
    }
}

/// The transport for a run: local always, plus SSH (nothing connects until a node needs it).
/// Flags win over `dr.toml`.
pub fn router_for(
    args: &crate::cli::RunArgs,
    config: &crate::config::Config,
) -> Result<Router, crate::Error> {
    let options = ssh::Options {
        defaults: ssh::Defaults {
            private_key: args
                .private_key
                .clone()
                .or_else(|| config.private_key_file.clone()),
            accept_new: args.accept_new_host_keys || config.accept_new_host_keys.unwrap_or(false),
            remote_user: config.remote_user.clone(),
            resolved: Default::default(),
        },
        connect_timeout: std::time::Duration::from_secs(
            args.connect_timeout
                .or(config.connect_timeout)
                .unwrap_or(10)
                .max(1),
        ),
    };
    Ok(Router::with_ssh(Box::new(ssh::Ssh::new(options))))
}
