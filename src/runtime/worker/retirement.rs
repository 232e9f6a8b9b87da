//! Leaving gracefully: the lifetime timer (`--lifetime`), and copies of a retiring peer's
//! results that the scheduler asks this worker to take over (`Replicate`).
//!
//! At the end of its lifetime a worker tells the scheduler it is `Retiring`; the scheduler
//! takes back its queued tasks, has its sole copies replicated to other workers and then sends
//! `Shutdown`. If that does not come within the retire timeout, the worker stops anyway.
//! This module must not decide where data goes (the scheduler does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::TaskKey;
use crate::protocol::{Frame, Message};
use crate::runtime::peer_pool::PeerPool;
use crate::transport::FrameSender;

use super::state::WorkerState;

/// Fetch `key` from `from` and keep it as a result this worker holds; report the outcome.
pub fn replicate(
    state: &WorkerState,
    peers: &PeerPool,
    to_scheduler: &FrameSender,
    key: TaskKey,
    from: &str,
) {
    let present = state.data().contains(&key);
    let already = if present {
        state.store.read(&key).ok()
    } else {
        None
    };
    let value = match already {
        Some(v) => Some(v),
        None => match peers.get(from, std::slice::from_ref(&key)) {
            Ok(mut got) => got.remove(&key).flatten(),
            Err(e) => {
                tracing::debug!(%from, error = %e, "replica fetch failed");
                None
            }
        },
    };
    let message = match value {
        Some(v) => {
            let nbytes = v.len() as u64;
            state.data().insert_owned(key.clone(), v);
            Message::ReplicaStored { key, nbytes }
        }
        None => Message::ReplicaFailed { key },
    };
    let _ = to_scheduler.send(Frame::single(message));
}

/// What the lifetime timer needs.
pub struct LifetimeTimer {
    /// Retire this long after start.
    pub lifetime: Duration,
    /// Stop anyway this long after retiring when the scheduler has not closed us.
    pub retire_timeout: Duration,
    /// Set when the timer stopped the worker.
    pub stop_requested: Arc<AtomicBool>,
    /// The connection to the scheduler.
    pub to_scheduler: FrameSender,
}

impl LifetimeTimer {
    /// Wait for the lifetime (or until `cancel` fires or closes), retire, and stop after the
    /// retire timeout.
    pub fn run(self, started: Instant, cancel: Receiver<()>) {
        let deadline = started + self.lifetime;
        let wait = deadline.saturating_duration_since(Instant::now());
        match cancel.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        tracing::info!(lifetime = ?self.lifetime, "worker lifetime reached; retiring");
        let retiring = Message::Retiring {
            reason: format!("lifetime of {:?} reached", self.lifetime),
        };
        if self.to_scheduler.send(Frame::single(retiring)).is_err() {
            return;
        }
        if let Err(RecvTimeoutError::Timeout) = cancel.recv_timeout(self.retire_timeout) {
            tracing::warn!(
                timeout = ?self.retire_timeout,
                "the scheduler did not close this retiring worker in time; stopping"
            );
            self.stop_requested.store(true, Ordering::SeqCst);
            self.to_scheduler.close();
        }
    }
}
