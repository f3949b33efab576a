//! The SSH transport (russh): one connection per host for the whole run, the agent built
//! for the host's machine pushed once per host and cached there by hash, one exec per node
//! with the request on stdin and events streamed back live.

mod agent;
mod agents;
mod arch;
mod auth;
mod encoding;
mod exec;
mod flow;
mod host_key;
mod known_hosts;
mod live;
mod request_pieces;
mod resolved;
mod session;
mod target;
mod zstd_frame;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dr_agent::wire::Request;

use tokio::sync::OnceCell;

use super::{Answers, BoxFuture, StopLevel, StopWatch, Transport, TransportError};
use crate::inventory::Connection;
use agents::Agents;
use session::Session;
pub use target::Defaults;

/// Run-wide SSH settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Key file, known-hosts policy.
    pub defaults: Defaults,
    /// How long to wait for a connection (TCP, handshake and login together).
    pub connect_timeout: Duration,
}

/// One host's connection and agent state, shared by its nodes.
#[derive(Default)]
struct HostSlot {
    /// The connection, or why it could not be made (kept, so every node of an unreachable
    /// host fails at once with the same reason instead of retrying).
    session: tokio::sync::Mutex<Option<Result<Arc<Session>, TransportError>>>,
    /// The agent push, done at most once per host per run.
    pushed: OnceCell<Result<(), TransportError>>,
}

/// A host's slots, each with how it is reached.
type Slots = Vec<(String, Arc<HostSlot>)>;

/// The SSH transport.
pub struct Ssh {
    options: Options,
    agents: OnceCell<Result<Arc<Agents>, TransportError>>,
    /// Each host's slots, by how it is reached (`address`, `port`, `user`): one, unless a
    /// task connects with connection variables of its own.
    hosts: Mutex<HashMap<String, Slots>>,
}

impl Ssh {
    /// A transport with no connections yet.
    pub fn new(options: Options) -> Self {
        Ssh {
            options,
            agents: OnceCell::new(),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of `host` reached at `address`:`port` as `user`: a task that connects
    /// with connection variables of its own (another user, say) gets a connection and an
    /// agent cache of its own.
    fn slot(&self, host: &str, address: &str, port: u16, user: Option<&str>) -> Arc<HostSlot> {
        let key = format!("{address}\0{port}\0{}", user.unwrap_or_default());
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let slots = hosts.entry(host.to_owned()).or_default();
        if let Some((_, slot)) = slots.iter().find(|(k, _)| *k == key) {
            return slot.clone();
        }
        let slot = Arc::new(HostSlot::default());
        slots.push((key, slot.clone()));
        slot
    }

    async fn agents(&self) -> Result<Arc<Agents>, TransportError> {
        self.agents
            .get_or_init(|| async {
                tokio::task::spawn_blocking(Agents::locate)
                    .await
                    .map_err(|e| {
                        TransportError::Agent(format!("internal error (a bug in dr): {e}"))
                    })?
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// The host's connection, opened on first use and reopened if it dropped.
    async fn session(
        &self,
        slot: &HostSlot,
        host: &str,
        address: &str,
        request: &Request,
    ) -> Result<Arc<Session>, TransportError> {
        let mut guard = slot.session.lock().await;
        match &*guard {
            Some(Ok(s)) if !s.is_closed() => return Ok(s.clone()),
            Some(Err(e)) => return Err(e.clone()),
            _ => {}
        }
        let result = async {
            let target = target::resolve(host, address, &request.vars, &self.options.defaults)?;
            let session = session::open(
                &target,
                &self.options.defaults,
                self.options.connect_timeout,
            )
            .await?;
            Ok(Arc::new(session))
        }
        .await;
        *guard = Some(result.clone());
        result
    }

    #[tracing::instrument(skip_all, fields(host = %host))]
    async fn run_node(
        &self,
        host: &str,
        (address, port, user): (&str, u16, Option<&str>),
        request: Request,
        events: super::Events,
        mut answers: Answers,
        stop: StopWatch,
    ) -> Result<(), TransportError> {
        let agents = self.agents().await?;
        let slot = self.slot(host, address, port, user);
        let session = self.session(&slot, host, address, &request).await?;
        let mut request = request;
        request.agent_user = become_user(&request);
        request.login = Some(session.login.clone());
        let method = crate::inventory::escalation_method(
            &request.vars,
            request.play.become_method.as_deref(),
        )
        .map_err(TransportError::Agent)?;
        let command = agents.run_command(request.agent_user.as_deref(), method);
        // Kept for a second attempt (no agent cached yet), encoded again then: its files
        // are shared buffers, so keeping it costs little, while its encoding can be far
        // larger than the files. Dropped at the agent's first event, when no second
        // attempt can come: the play may run long, and hundreds of hosts' variables would
        // stay for nothing.
        let mut kept = Some(Arc::new(request));
        for attempt in 0..2 {
            let mut seen = 0usize;
            let mut garbage: Option<String> = None;
            if *stop.borrow() != StopLevel::Run {
                return Err(TransportError::Interrupted);
            }
            let Some(request) = kept.as_ref().map(Arc::clone) else {
                break;
            };
            tracing::debug!("exec dr-agent on `{host}`");
            let request_pieces::Pieces { pieces, encoded } = request_pieces::encode(request);
            let ended = live::run(
                &session.handle,
                &command,
                pieces,
                &mut answers,
                stop.clone(),
                |line| match serde_json::from_slice::<dr_agent::wire::Event>(line) {
                    // After a kill nothing more is relayed: the node is over.
                    Ok(_) if *stop.borrow() == StopLevel::Now => {}
                    Ok(event) => {
                        seen += 1;
                        kept = None;
                        let _ = events.send(Box::new(event));
                    }
                    Err(_) if line.is_empty() => {}
                    Err(_) => {
                        garbage.get_or_insert_with(|| {
                            String::from_utf8_lossy(line).chars().take(200).collect()
                        });
                    }
                },
            )
            .await;
            // A bug in the encoding comes first: the agent saw a cut request because of it.
            request_pieces::ended(host, encoded).await?;
            let ended = ended.map_err(|e| lost(host, &e.to_string()))?;
            let exit = match ended {
                live::Ended::Killed => return Err(TransportError::Interrupted),
                live::Ended::Exit(exit) => exit,
            };
            if exit.status.is_none() && exit.signal.is_none() && session.is_closed() {
                return Err(lost(
                    host,
                    "no answer to keepalives, or the server closed it",
                ));
            }
            if exit.status == Some(agent::MISSING) && seen == 0 && attempt == 0 {
                slot.pushed
                    .get_or_init(|| async {
                        agents
                            .for_host(host, &exit.stderr)?
                            .push(host, &session, encoding::Encoding::for_host(&exit.stderr))
                            .await
                    })
                    .await
                    .clone()?;
                continue;
            }
            return judge(host, &exit, seen, garbage);
        }
        Err(TransportError::Agent(format!(
            "the agent pushed to `{host}` is still missing from its cache; is `$HOME/.cache` writable?"
        )))
    }
}

/// The connection to `host` died while a play ran there.
fn lost(host: &str, why: &str) -> TransportError {
    TransportError::Unreachable(format!(
        "the connection to `{host}` was lost while the play ran ({why})"
    ))
}

/// Turns the end of an agent run into success or a message naming the host.
fn judge(
    host: &str,
    exit: &exec::Exit,
    seen: usize,
    garbage: Option<String>,
) -> Result<(), TransportError> {
    if exit.status == Some(0) && seen > 0 {
        return Ok(());
    }
    if exit.stderr.contains("a password is required")
        || exit.stderr.contains("a terminal is required")
    {
        return Err(TransportError::Agent(format!(
            "`become` on `{host}` needs a password, but dr runs `sudo -n` (never prompts): allow \
             passwordless sudo for the login user, or log in as the target user"
        )));
    }
    if exit.stderr.contains(agents::SU_NEEDS_ROOT) {
        return Err(TransportError::Agent(format!(
            "`become_method: su` on `{host}` needs the target user's password, as the login \
             user is not root, and dr never prompts for one: log in as root, or escalate with \
             sudo"
        )));
    }
    if exit.stderr.contains("sudo: not found") || exit.stderr.contains("sudo: command not found") {
        return Err(TransportError::Agent(format!(
            "`become` on `{host}` needs `sudo`, which is not installed there"
        )));
    }
    let how = match (&exit.status, &exit.signal) {
        (_, Some(sig)) => format!("was killed by signal {sig}"),
        (Some(s), None) => format!("exited with status {s}"),
        (None, None) => "ended without an exit status".into(),
    };
    let mut msg = format!("dr-agent on `{host}` {how}");
    if !exit.stderr.is_empty() {
        msg.push_str(&format!(": {}", exit.stderr));
    }
    if let Some(g) = garbage {
        msg.push_str(&format!(" (unexpected output: {g:?})"));
    }
    Err(TransportError::Agent(msg))
}

/// The user the agent is started as through `sudo` (see [`crate::inventory::escalation`]).
/// The agent for the controller's own machine, to run it here (the local connection
/// escalating).
pub(super) fn own_agent() -> Result<std::path::PathBuf, TransportError> {
    agents::own()
}

fn become_user(request: &Request) -> Option<String> {
    crate::inventory::escalation(&request.vars, request.play.become_.as_deref())
}

impl Transport for Ssh {
    fn run<'a>(
        &'a self,
        host: &'a str,
        conn: &'a Connection,
        request: Request,
        events: super::Events,
        answers: Answers,
        stop: StopWatch,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            match conn {
                Connection::Ssh {
                    address,
                    port,
                    user,
                } => {
                    let at = (address.as_str(), *port, user.as_deref());
                    self.run_node(host, at, request, events, answers, stop)
                        .await
                }
                Connection::Local => Err(TransportError::Unsupported(format!(
                    "`{host}` is a local connection routed to SSH (a bug in dr)"
                ))),
            }
        })
    }

    /// Closes the host's connection once its last node has ended: at hundreds of hosts
    /// each connection's russh state and write buffer (which keeps the size of the
    /// largest request it sent) would otherwise live until the run's end. A connection
    /// that failed stays failed (every later node fails at once with the same reason),
    /// and the agent push is remembered; a later node (a delegated task) connects again.
    fn release(&self, host: &str) {
        let slots: Vec<Arc<HostSlot>> = {
            let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            hosts
                .get(host)
                .map(|s| s.iter().map(|(_, slot)| slot.clone()).collect())
                .unwrap_or_default()
        };
        // Locked only while a node connects, and then the host is not done.
        for slot in slots {
            if let Ok(mut session) = slot.session.try_lock()
                && matches!(&*session, Some(Ok(_)))
            {
                *session = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(status: u32, stderr: &str) -> exec::Exit {
        exec::Exit {
            status: Some(status),
            signal: None,
            stderr: stderr.into(),
            paced: None,
        }
    }

    #[test]
    fn agent_endings_name_the_host() {
        assert!(judge("h1", &exit(0, ""), 3, None).is_ok());
        let e = judge("h1", &exit(1, "sudo: a password is required"), 0, None).unwrap_err();
        assert!(
            e.to_string().contains("`become` on `h1` needs a password"),
            "{e}"
        );
        let e = judge("h1", &exit(127, "sh: 1: exec: sudo: not found"), 0, None).unwrap_err();
        assert!(e.to_string().contains("needs `sudo`"), "{e}");
        let e = judge(
            "h1",
            &exit(2, "dr-agent: malformed request"),
            0,
            Some("x".into()),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "agent failed: dr-agent on `h1` exited with status 2: dr-agent: malformed request (unexpected output: \"x\")"
        );
    }

    #[test]
    fn become_from_connection_vars() {
        let mut request: Request = serde_json::from_value(serde_json::json!({
            "protocol": dr_agent::wire::PROTOCOL_VERSION, "host": "h", "mode": "check", "diff": false,
            "play": {"name": "p", "tasks": []}, "vars": {}, "files": {}
        }))
        .unwrap();
        assert_eq!(become_user(&request), None);
        request.vars.insert("ansible_become".into(), "yes".into());
        assert_eq!(become_user(&request).as_deref(), Some("root"));
        request
            .vars
            .insert("dr_become_user".into(), "postgres".into());
        assert_eq!(become_user(&request).as_deref(), Some("postgres"));
        request.vars.clear();
        request.play.become_ = Some("app".into());
        assert_eq!(become_user(&request).as_deref(), Some("app"));
        request.vars.insert("ansible_become".into(), false.into());
        assert_eq!(become_user(&request), None);
        request.vars.insert("ansible_become".into(), true.into());
        request
            .vars
            .insert("ansible_become_user".into(), "pg".into());
        assert_eq!(become_user(&request).as_deref(), Some("pg"));
    }
}
