//! Telling the sender there is work, after the commit that made it. A request that queues a
//! delivery marks its task (the audit log's statement says how many it queued); the request
//! layer, once the handler has answered with success, hands off. Nothing is lost when a
//! hand-off is: the sender's schedule sweeps every minute.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

tokio::task_local! {
    static QUEUED: Cell<bool>;
}

/// Notes that the running request queued a delivery (outside a request scope: nothing).
pub fn note_queued() {
    let _ = QUEUED.try_with(|queued| queued.set(true));
}

/// Runs a request's future and says whether it queued a delivery.
pub async fn scope<F: Future>(request: F) -> (F::Output, bool) {
    QUEUED
        .scope(Cell::new(false), async move {
            let output = request.await;
            (output, QUEUED.with(Cell::get))
        })
        .await
}

/// This process's hand-off, when it has a sender to wake.
static INSTALLED: OnceLock<Handoff> = OnceLock::new();

/// Sets where this process hands off; the first call wins.
pub fn install(handoff: Handoff) {
    let _ = INSTALLED.set(handoff);
}

/// Wakes this process's sender, if it has one.
pub fn wake() {
    if let Some(handoff) = INSTALLED.get() {
        handoff.wake();
    }
}

/// Where a hand-off goes.
#[derive(Clone, Debug, Default)]
pub enum Handoff {
    /// Nowhere: the schedule finds the work (a function without a sender to wake).
    #[default]
    Schedule,
    /// A sender in this process (`identity serve`), woken at once.
    InProcess(Arc<Notify>),
}

impl Handoff {
    /// Wakes the sender.
    pub fn wake(&self) {
        match self {
            Handoff::Schedule => {}
            Handoff::InProcess(notify) => notify.notify_one(),
        }
    }
}
