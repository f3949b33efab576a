//! How far the operator asked a run to stop, as every running node sees it.

use tokio::sync::watch;

/// The stop levels, in order: each one includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum StopLevel {
    /// Keep going.
    #[default]
    Run,
    /// Finish the task running on each host, start nothing new (first Ctrl-C).
    AfterTask,
    /// Kill the running tasks on every host now (second Ctrl-C, SIGTERM).
    Now,
}

/// What a node watches to learn that the run is stopping.
pub type StopWatch = watch::Receiver<StopLevel>;

/// A watch whose level never changes (its sender is gone, which [`reached`] reads as
/// "never").
pub fn never() -> StopWatch {
    watch::channel(StopLevel::Run).1
}

/// Waits until the level is at least `level`; never returns if the sender is gone first.
pub async fn reached(stop: &mut StopWatch, level: StopLevel) {
    if stop.wait_for(|l| *l >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}
