//! The scheduler state machine: `handle(now, event)`, then `drain_actions()`.
//!
//! It owns the task graph (keys, dependencies, states), decides placement (data locality,
//! balance), priorities (depth-first graph order, so memory stays low), work stealing, and
//! recovery when workers disappear. It must not do I/O, read the clock or spawn threads:
//! `now` is passed in, and everything it wants done comes out as an [`Action`].

mod action;
mod event;

use std::time::Instant;

pub use action::{Action, DepLocation};
pub use event::Event;

use crate::core::task::{TaskKey, WorkerId};

/// Tunables of the scheduling policy.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Tasks handed to a worker per thread before the rest wait at the scheduler
    /// (like dask's worker-saturation). Values above 1 hide network latency.
    pub saturation: f64,
    /// A task whose running worker died this many times is failed (dask's allowed-failures).
    pub allowed_failures: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            saturation: 2.0,
            allowed_failures: 3,
        }
    }
}

/// Counts for `tessera info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulerSnapshot {
    pub workers: usize,
    pub waiting: usize,
    pub ready: usize,
    pub processing: usize,
    pub memory: usize,
    pub erred: usize,
    pub total_tasks: usize,
}

/// The scheduler core. See the module docs.
pub struct Scheduler {
    _private: (),
}

impl Scheduler {
    /// A scheduler with no workers, clients or tasks.
    pub fn new(_config: SchedulerConfig) -> Self {
        todo!("implemented by the scheduler core work")
    }

    /// Feed one event. Actions accumulate until drained.
    pub fn handle(&mut self, _now: Instant, _event: Event) {
        todo!()
    }

    /// Take the actions produced so far, in the order they must be carried out.
    pub fn drain_actions(&mut self) -> std::vec::Drain<'_, Action> {
        todo!()
    }

    /// Workers currently holding `key` in memory (empty if none).
    pub fn who_has(&self, _key: &TaskKey) -> &[WorkerId] {
        todo!()
    }

    /// Counts of tasks by state and of workers.
    pub fn snapshot(&self) -> SchedulerSnapshot {
        todo!()
    }
}
