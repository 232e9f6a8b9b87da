//! Bounds on what unauthenticated connections can cost the scheduler: at most
//! [`MAX_PENDING_HANDSHAKES`] connections wait for their handshake at once (each holds a
//! thread; more are closed at once), and refused handshakes are logged at most one WARN line
//! per [`WARN_INTERVAL`], with the count of those not logged.
//!
//! This module must not run handshakes or read sockets; the accept loop asks it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections allowed to wait for their handshake at once.
pub const MAX_PENDING_HANDSHAKES: usize = 128;

/// At most one refusal warning per this interval.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Counts connections in their handshake.
#[derive(Clone, Default)]
pub struct HandshakeGate {
    pending: Arc<AtomicUsize>,
}

/// A place in the gate, released when dropped.
pub struct HandshakePermit {
    pending: Arc<AtomicUsize>,
}

impl HandshakeGate {
    /// A permit, or `None` when [`MAX_PENDING_HANDSHAKES`] are already waiting.
    pub fn enter(&self) -> Option<HandshakePermit> {
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_PENDING_HANDSHAKES).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| HandshakePermit {
            pending: self.pending.clone(),
        })
    }
}

impl Drop for HandshakePermit {
    fn drop(&mut self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Decides which refusals get a WARN line.
#[derive(Default)]
pub struct RefusalLog {
    state: Mutex<(Option<Instant>, u64)>,
}

impl RefusalLog {
    /// `Some(n)`: log this refusal, mentioning `n` refusals not logged since the last line;
    /// `None`: stay quiet (counted).
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, suppressed) = &mut *state;
        match last {
            Some(at) if now.duration_since(*at) < WARN_INTERVAL => {
                *suppressed += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_admits_up_to_the_cap_and_frees_places() {
        let gate = HandshakeGate::default();
        let permits: Vec<_> = (0..MAX_PENDING_HANDSHAKES)
            .map(|_| gate.enter().expect("room"))
            .collect();
        assert!(gate.enter().is_none());
        drop(permits);
        assert!(gate.enter().is_some());
    }

    #[test]
    fn one_line_per_interval_with_the_count_left_out() {
        let log = RefusalLog::default();
        let t0 = Instant::now();
        assert_eq!(log.admit(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(log.admit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.admit(t0 + WARN_INTERVAL), Some(5));
        assert_eq!(log.admit(t0 + WARN_INTERVAL), None);
    }
}
