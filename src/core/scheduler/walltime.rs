//! Walltime-aware placement: a task known to take longer than a worker has left before its
//! job ends does not go to that worker while another worker has time for it.
//!
//! Workers report how long they will still take tasks when they register (their job's
//! walltime or `--lifetime`); the scheduler turns that into an end time on its own clock.
//! A task's duration is the one it declares (`ResourceRequest::time_request`, from
//! `tessera submit --time-request`), else estimated from the observed durations of its
//! prefix ([`DurationEstimates`](super::duration_estimates::DurationEstimates)); a task with
//! neither, and every worker without an end time, skip the check. When no worker that takes
//! tasks lasts long enough, the task is placed as usual (retirement then hands it over), so a
//! task never stays unplaced because of this rule. This module answers "may this task
//! go there?" and looks for another ready task a worker has time for; it must not assign.

use std::time::Instant;

use super::lifecycle::is_ready_entry;
use super::ready_queue::ReadyEntry;
use super::task_store::TaskId;
use super::worker_pool::WorkerSlot;
use super::Scheduler;

/// Ready tasks examined for a worker whose end is too near for the best ones.
const LOOKAHEAD: usize = 16;

impl Scheduler {
    /// The worker's end time from the time it has left (`None` when unknown or beyond the
    /// clock's range).
    pub(super) fn end_time(now: Instant, lifetime: Option<std::time::Duration>) -> Option<Instant> {
        lifetime.and_then(|left| now.checked_add(left))
    }

    /// The task may run on the worker in `slot` as far as walltime goes: the worker has no
    /// known end, the task's duration is unknown, the worker has time for it (with the
    /// configured margin), or no worker that takes tasks has time for it.
    pub(super) fn runs_in_time(&self, id: TaskId, slot: WorkerSlot) -> bool {
        let Some(end) = self.workers.get(slot).and_then(|w| w.ends_at) else {
            return true;
        };
        let Some(now) = self.now else {
            return true;
        };
        // Common case: more time left than any task is known to take.
        let left = end.saturating_duration_since(now);
        let longest = self
            .durations
            .longest()
            .max(self.requests.longest_declared());
        if left > longest.saturating_add(self.config.walltime_margin) {
            return true;
        }
        let task = &self.tasks[id];
        let declared = self.requests.declared(task.request);
        let Some(estimate) = declared.or_else(|| self.durations.estimate(task.key.as_str())) else {
            return true;
        };
        let needed = estimate.saturating_add(self.config.walltime_margin);
        match now.checked_add(needed) {
            Some(deadline) => end >= deadline || !self.workers.any_lasts_until(deadline),
            // Longer than the clock can count: only a worker without an end has time.
            None => !self.workers.any_lasts_forever(),
        }
    }

    /// Take from the global ready queue a task among the best [`LOOKAHEAD`] that the worker
    /// in `slot` has time for and that is worth moving there (`transfer_cost.rs`); the others
    /// stay queued.
    pub(super) fn take_ready_task_for(&mut self, slot: WorkerSlot) -> Option<TaskId> {
        let mut skipped: Vec<ReadyEntry> = Vec::new();
        let mut found = None;
        while skipped.len() < LOOKAHEAD {
            let tasks = &self.tasks;
            let Some(entry) = self.ready.pop_valid(|e| is_ready_entry(tasks, e)) else {
                break;
            };
            if self.runs_in_time(entry.task, slot)
                && self.worth_moving(entry.task, slot)
                && self.fits(entry.task, slot)
            {
                found = Some(entry.task);
                break;
            }
            skipped.push(entry);
        }
        for entry in skipped {
            self.ready.push(entry);
        }
        found
    }
}
