//! Work stealing: moving tasks queued on busy workers to idle ones.
//!
//! When nothing is ready at the scheduler, workers with idle threads exist, and other workers
//! have tasks queued beyond their threads, the scheduler asks those victims (most excess
//! first) to give back their least urgent queued task. A confirmed steal puts the task on the
//! least-loaded other worker with room; a refused one (already started) leaves it where it is.
//! A paused worker starts nothing, so all its tasks count as queued (it refuses started ones).
//! Runs on `Tick`, when a worker joins, and when a worker runs dry. Walltime counts: a task
//! is not asked back for a thief whose job ends before it would finish, and a stolen task goes
//! to the least-loaded other worker only if that one has time for it (otherwise it is queued
//! again and placed as usual). Data counts too: a task whose inputs are too big to be worth
//! moving (see `transfer_cost.rs`) is not stolen. This module must not touch a task's
//! neededness.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::task_store::TaskState;
use super::worker_pool::FULL_THREADS_LOAD;
use super::{Action, Scheduler};
use crate::core::task::{TaskKey, WorkerId};

impl Scheduler {
    /// Send steal requests from overloaded workers for the idle threads elsewhere.
    pub(super) fn balance(&mut self) {
        if self.tasks.count(TaskState::Ready) > 0 || self.workers.overloaded() == 0 {
            return;
        }
        let mut idle_threads = 0usize;
        for (load, slot) in self.workers.with_room() {
            if load >= FULL_THREADS_LOAD {
                continue;
            }
            let worker = &self.workers[slot];
            idle_threads += worker.busy_limit().saturating_sub(worker.in_flight());
        }
        if idle_threads == 0 {
            return;
        }
        let mut victims: BinaryHeap<(usize, Reverse<u32>, super::worker_pool::WorkerSlot)> = self
            .workers
            .iter()
            .filter_map(|(slot, w)| {
                let excess = w.stealable_excess();
                (excess > 0).then_some((excess, Reverse(w.id.0), slot))
            })
            .collect();
        // The thief a confirmed steal will most likely go to (see `on_steal_reply`).
        let thief = self.workers.least_loaded_with_room();
        while idle_threads > 0 {
            let Some((excess, order, slot)) = victims.pop() else {
                break;
            };
            let tasks = &self.tasks;
            let candidate = self.workers[slot]
                .processing
                .iter()
                .copied()
                .filter(|&id| !tasks[id].steal_pending)
                .filter(|&id| thief.is_none_or(|thief| self.runs_in_time(id, thief)))
                .filter(|&id| thief.is_none_or(|thief| self.worth_moving(id, thief)))
                .max_by_key(|&id| (tasks[id].priority, id));
            let Some(id) = candidate else {
                continue;
            };
            self.tasks[id].steal_pending = true;
            self.workers[slot].stealing += 1;
            self.flush_frees_of(slot);
            self.actions.push(Action::Steal {
                worker: self.workers[slot].id,
                key: self.tasks[id].key.clone(),
            });
            idle_threads -= 1;
            if excess > 1 {
                victims.push((excess - 1, order, slot));
            }
        }
    }

    pub(super) fn on_steal_reply(&mut self, worker: WorkerId, key: &TaskKey, stolen: bool) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        let Some(id) = self.tasks.lookup(key) else {
            return;
        };
        let task = &mut self.tasks[id];
        if task.state != TaskState::Processing
            || task.processing_on != Some(slot)
            || !task.steal_pending
        {
            return;
        }
        if !stolen {
            task.steal_pending = false;
            let victim = &mut self.workers[slot];
            victim.stealing = victim.stealing.saturating_sub(1);
            return;
        }
        self.detach_from_worker(id);
        let inputs_ready = self.tasks[id]
            .deps
            .as_slice()
            .iter()
            .all(|&d| self.tasks[d].state == TaskState::Memory);
        match self.workers.least_loaded_with_room_except(slot) {
            Some(thief)
                if inputs_ready
                    && self.runs_in_time(id, thief)
                    && self.worth_moving(id, thief)
                    && self.fits(id, thief) =>
            {
                self.assign(id, thief)
            }
            _ => self.requeue(id),
        }
    }
}
