//! The local connection: the agent engine in process, on a blocking thread.

use std::sync::{Arc, Mutex};

use dr_agent::engine::{Link, Stop};
use dr_agent::wire::Request;

use super::{Answers, BoxFuture, StopLevel, StopWatch, Transport, TransportError, reached};
use crate::inventory::Connection;

/// Runs plays on this machine, without SSH (`ansible_connection: local`).
pub struct Local;

impl Transport for Local {
    fn run<'a>(
        &'a self,
        _host: &'a str,
        _conn: &'a Connection,
        request: Request,
        events: super::Events,
        mut answers: Answers,
        mut stop: StopWatch,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        // The engine runs as this process, which as root switches users for a task that
        // must run as another; not as root, a play that escalates runs its agent through
        // `sudo`, as Ansible's local connection does.
        let mut request = request;
        request.agent_user = None;
        request.login = Some(dr_agent::wire::Login::Local);
        let escalate = crate::inventory::escalation(&request.vars, request.play.become_.as_deref())
            .filter(|_| !rustix::process::geteuid().is_root());
        if let Some(user) = escalate {
            return Box::pin(async move {
                let method = crate::inventory::escalation_method(
                    &request.vars,
                    request.play.become_method.as_deref(),
                )
                .map_err(TransportError::Agent)?;
                let agent = super::ssh::own_agent()?;
                request.agent_user = Some(user.clone());
                super::local_sudo::run(&agent, &user, method, request, events, answers, stop).await
            });
        }
        Box::pin(async move {
            let switch = Stop::new();
            let link = Link::connected();
            let relay = {
                let link = link.clone();
                tokio::spawn(async move {
                    while let Some(answer) = answers.recv().await {
                        link.deliver(*answer);
                    }
                })
            };
            let _relay = AbortOnDrop(relay);
            // Taken away on a kill, so the killed task's result (and the end of the play)
            // never reach the run, and the node's relay ends without waiting for the thread.
            let sink = Arc::new(Mutex::new(Some(events)));
            let mut work = {
                let (switch, sink) = (switch.clone(), sink.clone());
                tokio::task::spawn_blocking(move || {
                    dr_agent::engine::run_linked(&request, &switch, &link, &mut |event| {
                        let sink = sink.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(tx) = sink.as_ref()
                            && !switch.killed()
                        {
                            // The receiver only goes away when the run is torn down.
                            let _ = tx.send(Box::new(event));
                        }
                    });
                })
            };
            let ended = |r: Result<(), tokio::task::JoinError>| {
                r.map_err(|e| TransportError::Agent(format!("the local engine stopped: {e}")))
            };
            tokio::select! {
                r = &mut work => return ended(r),
                () = reached(&mut stop, StopLevel::AfterTask) => switch.after_task(),
            }
            tokio::select! {
                r = &mut work => ended(r),
                () = reached(&mut stop, StopLevel::Now) => {
                    sink.lock().unwrap_or_else(|p| p.into_inner()).take();
                    switch.kill();
                    Err(TransportError::Interrupted)
                }
            }
        })
    }
}

/// Ends the answer relay with the run.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
