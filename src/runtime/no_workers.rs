//! The watch on a cluster left without workers: when every worker has gone while tasks
//! wait, clients would wait for ever in silence. After a grace period for new workers to join,
//! the scheduler tells its clients (`NoWorkers`, again every grace period while it lasts) and
//! `WorkersBack` once a worker joins. A cluster that never had a worker (workers still queued
//! in a batch system) is not watched.
//!
//! A pure state machine fed `(now, observation)`; the scheduler server sends the messages.
//! This module must not read clocks or touch connections.

use std::time::{Duration, Instant};

/// What the scheduler sees at a tick.
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    pub workers: usize,
    /// Tasks waiting, ready or processing.
    pub pending: usize,
}

/// What the scheduler should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Log that the grace period started (the last worker left with work pending).
    GraceStarted { pending: usize, grace: Duration },
    /// Tell the clients: no worker for `grace` while `pending` tasks wait.
    TellClients { reason: String },
    /// A worker joined after the clients were told.
    WorkersBack,
}

/// The watch; `grace: None` never tells.
#[derive(Debug)]
pub struct NoWorkersWatch {
    grace: Option<Duration>,
    had_workers: bool,
    since: Option<Instant>,
    told: bool,
}

impl NoWorkersWatch {
    pub fn new(grace: Option<Duration>) -> Self {
        NoWorkersWatch {
            grace,
            had_workers: false,
            since: None,
            told: false,
        }
    }

    pub fn observe(&mut self, now: Instant, seen: Observation) -> Option<Notice> {
        let grace = self.grace?;
        if seen.workers > 0 {
            self.had_workers = true;
            self.since = None;
            return std::mem::take(&mut self.told).then_some(Notice::WorkersBack);
        }
        if !self.had_workers || seen.pending == 0 {
            self.since = None;
            return None;
        }
        match self.since {
            None => {
                self.since = Some(now);
                Some(Notice::GraceStarted {
                    pending: seen.pending,
                    grace,
                })
            }
            Some(start) if now.duration_since(start) >= grace => {
                self.since = Some(now);
                self.told = true;
                Some(Notice::TellClients {
                    reason: format!(
                        "the cluster has had no workers for {}s while {} tasks wait; start \
                         workers with the same scheduler file, or give them longer with \
                         `tessera scheduler --no-workers-grace`",
                        grace.as_secs_f64(),
                        seen.pending
                    ),
                })
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(workers: usize, pending: usize) -> Observation {
        Observation { workers, pending }
    }

    #[test]
    fn tells_after_the_grace_only_once_workers_had_joined_and_left() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut w = NoWorkersWatch::new(Some(Duration::from_secs(10)));
        assert_eq!(w.observe(s(0), seen(0, 5)), None, "never had a worker");
        assert_eq!(w.observe(s(1), seen(2, 5)), None);
        assert!(matches!(
            w.observe(s(2), seen(0, 5)),
            Some(Notice::GraceStarted { pending: 5, .. })
        ));
        assert_eq!(w.observe(s(11), seen(0, 5)), None, "grace not over");
        let Some(Notice::TellClients { reason }) = w.observe(s(12), seen(0, 5)) else {
            panic!("clients not told");
        };
        assert!(
            reason.contains("no workers for 10s while 5 tasks wait"),
            "{reason}"
        );
        assert_eq!(w.observe(s(13), seen(0, 5)), None);
        assert!(matches!(
            w.observe(s(22), seen(0, 5)),
            Some(Notice::TellClients { .. })
        ));
        assert_eq!(w.observe(s(23), seen(1, 5)), Some(Notice::WorkersBack));
        assert_eq!(w.observe(s(24), seen(1, 5)), None);
    }

    #[test]
    fn nothing_pending_or_no_grace_tells_nobody() {
        let t0 = Instant::now();
        let mut w = NoWorkersWatch::new(Some(Duration::from_secs(1)));
        w.observe(t0, seen(1, 0));
        for i in 0..5 {
            assert_eq!(w.observe(t0 + Duration::from_secs(i * 5), seen(0, 0)), None);
        }
        let mut off = NoWorkersWatch::new(None);
        off.observe(t0, seen(1, 3));
        assert_eq!(off.observe(t0 + Duration::from_secs(99), seen(0, 3)), None);
    }
}
