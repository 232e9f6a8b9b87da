//! Leaving gracefully: the lifetime timer (`--lifetime`), and copies of a retiring peer's
//! results that the scheduler asks this worker to take over (`Replicate`).
//!
//! At the end of its lifetime a worker tells the scheduler it is `Retiring`; the scheduler
//! takes back its queued tasks, has its sole copies replicated to other workers and then sends
//! `Shutdown`. If that does not come within the retire timeout, the worker stops anyway.
//! The time left until then (or until the batch job ends, if sooner) is told to the scheduler
//! at registration ([`remaining_lifetime`]), so it keeps tasks known to be long away.
//! This module must not decide where data goes (the scheduler does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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

/// How long a worker will still take tasks: the rest of its `lifetime` (after `elapsed`
/// since it started) or the time until its batch job ends at `job_end`, whichever is sooner;
/// `None` when neither is known. An end already past counts as zero.
pub fn remaining_lifetime(
    lifetime: Option<Duration>,
    elapsed: Duration,
    job_end: Option<SystemTime>,
    now: SystemTime,
) -> Option<Duration> {
    let by_lifetime = lifetime.map(|l| l.saturating_sub(elapsed));
    let by_job = job_end.map(|end| end.duration_since(now).unwrap_or(Duration::ZERO));
    match (by_lifetime, by_job) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn remaining_lifetime_is_the_nearer_end() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let secs = Duration::from_secs;
        assert_eq!(remaining_lifetime(None, secs(5), None, now), None);
        assert_eq!(
            remaining_lifetime(Some(secs(60)), secs(5), None, now),
            Some(secs(55))
        );
        let job_end = Some(now + secs(30));
        assert_eq!(
            remaining_lifetime(None, secs(5), job_end, now),
            Some(secs(30))
        );
        assert_eq!(
            remaining_lifetime(Some(secs(60)), secs(5), job_end, now),
            Some(secs(30))
        );
        assert_eq!(
            remaining_lifetime(Some(secs(20)), secs(5), job_end, now),
            Some(secs(15))
        );
        // Ends already past.
        assert_eq!(
            remaining_lifetime(Some(secs(2)), secs(5), Some(now - secs(1)), now),
            Some(Duration::ZERO)
        );
    }
}
