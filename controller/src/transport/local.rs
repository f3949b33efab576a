//! The local connection: the agent engine in process, on a blocking thread.

use dr_agent::wire::{Event, Request};
use tokio::sync::mpsc::UnboundedSender;

use super::{BoxFuture, Transport, TransportError};
use crate::inventory::Connection;

/// Runs plays on this machine, without SSH (`ansible_connection: local`).
pub struct Local;

impl Transport for Local {
    fn run<'a>(
        &'a self,
        _host: &'a str,
        _conn: &'a Connection,
        request: Request,
        events: UnboundedSender<Event>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                dr_agent::engine::run(&request, &mut |event| {
                    // The receiver only goes away when the run is torn down; nothing to do.
                    let _ = events.send(event);
                });
            })
            .await
            .map_err(|e| TransportError::Agent(format!("the local engine stopped: {e}")))
        })
    }
}
