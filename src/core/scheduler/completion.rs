//! Results and failures reported by workers.
//!
//! The first result of a task wins, whichever worker computed it (after a steal both the victim
//! and the thief may report): the other copy is cancelled, and a result nobody needs any more
//! is freed on the worker that reports it. A failure errs the task and, transitively, its
//! active dependents. Reports from workers that already left are ignored. This module must not
//! place tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::task_store::{TaskError, TaskState};
use super::Scheduler;
use crate::core::task::{TaskKey, WorkerId};

impl Scheduler {
    pub(super) fn on_task_finished(
        &mut self,
        now: Instant,
        worker: WorkerId,
        key: TaskKey,
        nbytes: u64,
        compute: Option<Duration>,
    ) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        let timed = self.workers.timed() > 0;
        if let (Some(took), true) = (compute, timed) {
            // Walltime placement asks about every prefix once some worker has an end.
            self.durations.observe(key.as_str(), took);
        }
        self.workers.record_completion(
            slot,
            now,
            self.config.queue_horizon,
            self.config.max_saturation,
        );
        let Some(id) = self.tasks.lookup(&key) else {
            self.queue_free(slot, key);
            return;
        };
        if let (Some(took), false) = (compute, timed) {
            // The transfer-cost rule asks only about tasks with big inputs: other completions
            // skip the bookkeeping on this hot path.
            if self.has_big_inputs(id) {
                self.durations.observe(key.as_str(), took);
            }
        }
        if self.take_cancelled_run(id, worker) {
            // Sent before the worker got our `Free`, which drops it there.
            return;
        }
        match self.tasks[id].state {
            TaskState::Waiting | TaskState::Ready | TaskState::Processing => {
                self.enter_memory(id, slot, nbytes)
            }
            // Another copy: keep it as a replica.
            TaskState::Memory => self.add_holder(id, slot),
            TaskState::Released | TaskState::Erred | TaskState::Forgotten => {
                self.queue_free(slot, key)
            }
        }
    }

    pub(super) fn on_task_failed(&mut self, worker: WorkerId, key: TaskKey, message: String) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        let Some(id) = self.tasks.lookup(&key) else {
            return;
        };
        if self.take_cancelled_run(id, worker) || !self.tasks[id].state.is_active() {
            return;
        }
        if let Some(on) = self.detach_from_worker(id) {
            if on != slot {
                self.cancel_run(on, id);
            }
        }
        self.err_task(id, Arc::new(TaskError { root: key, message }));
    }
}
