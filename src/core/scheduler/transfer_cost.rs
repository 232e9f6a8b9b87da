//! Whether a task is worth running away from its inputs: the input bytes a worker would have to
//! fetch for it (a spilled input counts twice: its holder reads it from disk to send it) against
//! `SchedulerConfig::steal_transfer_limit`, or, for a task whose prefix has a known duration,
//! against what that duration transfers at `steal_bandwidth`. Placement and stealing ask it
//! before giving a task to a worker that is not its preferred one, so a big-input task waits
//! for the worker holding its input instead of pulling 160 MB to run for 6 ms (dask weighs
//! transfer time against occupancy the same way). A task whose preferred worker takes no tasks
//! (paused, retiring, gone) is always worth moving, so nothing waits forever. Durations of
//! big-input tasks are learned even when no worker has a known end (`has_big_inputs`), so a
//! compute-heavy task over a big chunk still moves to an idle worker once one run is seen.
//! This module decides nothing else.

use super::task_store::TaskId;
use super::worker_pool::WorkerSlot;
use super::Scheduler;

impl Scheduler {
    /// True when running `id` on the worker in `slot` costs no more moved data than it is
    /// worth (see the module).
    pub(super) fn worth_moving(&self, id: TaskId, slot: WorkerSlot) -> bool {
        let task = &self.tasks[id];
        let Some(preferred) = task.preferred else {
            return true;
        };
        if preferred == slot
            || self
                .workers
                .get(preferred)
                .is_none_or(|w| w.retiring || w.paused)
        {
            return true;
        }
        let worker = self.workers[slot].id;
        let spilling = !self.spilled.is_empty();
        let mut moved = 0u64;
        for &dep in task.deps.as_slice() {
            let input = &self.tasks[dep];
            if input.holders.contains(&worker) {
                continue;
            }
            let weight = if spilling && self.spilled.contains_key(&dep) {
                2
            } else {
                1
            };
            moved = moved.saturating_add(input.nbytes.saturating_mul(weight));
            if moved > self.config.steal_transfer_limit {
                break;
            }
        }
        if moved <= self.config.steal_transfer_limit {
            return true;
        }
        self.durations
            .estimate(task.key.as_str())
            .is_some_and(|d| moved as f64 <= d.as_secs_f64() * self.config.steal_bandwidth as f64)
    }

    /// True when the inputs of `id` could exceed `steal_transfer_limit` (counting spilled
    /// bytes twice): only such a task can be held back by [`Self::worth_moving`], so only its
    /// duration is worth learning when no worker has a known end.
    pub(super) fn has_big_inputs(&self, id: TaskId) -> bool {
        let half_limit = self.config.steal_transfer_limit / 2;
        let mut total = 0u64;
        for &dep in self.tasks[id].deps.as_slice() {
            total = total.saturating_add(self.tasks[dep].nbytes);
            if total > half_limit {
                return true;
            }
        }
        false
    }
}
