//! Placement: which worker runs a ready task, and filling free worker slots.
//!
//! A task with inputs prefers the worker holding the most of its input bytes (ties: lowest
//! worker id), counting bytes a holder has spilled to its disk at a discount (see
//! `residency`). When free slots exist, the best-priority ready task goes to its preferred
//! worker if that worker has room; otherwise the least-loaded worker with room takes, in order
//! of preference, a ready task preferring it, or the best-priority task. A worker whose job
//! ends before a task would finish is passed over for that task (see `walltime`); it takes a
//! task it has time for from a little deeper in the queue, or none in this round. Tasks beyond
//! the free slots wait at the scheduler (queuing, like dask's worker-saturation). Every
//! decision is O(log W) (ordered load index, heaps) plus the task's inputs. This module must
//! not change a task's neededness or emit anything but `Compute`.

use super::lifecycle::{is_preferred_entry, is_ready_entry};
use super::residency::SPILLED_WEIGHT_SHIFT;
use super::task_store::{TaskId, TaskState};
use super::worker_pool::WorkerSlot;
use super::{Action, DepLocation, Scheduler};

impl Scheduler {
    /// The worker holding most of the task's input bytes, if any input is held anywhere.
    pub(super) fn preferred_worker(&mut self, id: TaskId) -> Option<WorkerSlot> {
        let task = &self.tasks[id];
        if task.deps.is_empty() {
            return None;
        }
        let mut bytes = std::mem::take(&mut self.scratch_bytes);
        bytes.clear();
        let spilling = !self.spilled.is_empty();
        for &dep_id in task.deps.as_slice() {
            let dep = &self.tasks[dep_id];
            // Count at least one byte per input so empty results still attract their users.
            let size = dep.nbytes.max(1);
            if spilling && self.spilled.contains_key(&dep_id) {
                let on_disk = (size >> SPILLED_WEIGHT_SHIFT).max(1);
                for &h in dep.holders.as_slice() {
                    let weight = if self.is_spilled_on(dep_id, h) {
                        on_disk
                    } else {
                        size
                    };
                    bytes.push((h, weight));
                }
            } else {
                bytes.extend(dep.holders.as_slice().iter().map(|&h| (h, size)));
            }
        }
        if bytes.len() > 1 {
            bytes.sort_unstable_by_key(|&(h, _)| h);
        }
        let mut best: Option<(u64, std::cmp::Reverse<u32>)> = None;
        let mut i = 0;
        while i < bytes.len() {
            let holder = bytes[i].0;
            let mut total = 0u64;
            while i < bytes.len() && bytes[i].0 == holder {
                total = total.saturating_add(bytes[i].1);
                i += 1;
            }
            let candidate = (total, std::cmp::Reverse(holder.0));
            if best.is_none_or(|b| candidate > b) {
                best = Some(candidate);
            }
        }
        self.scratch_bytes = bytes;
        let (_, std::cmp::Reverse(id)) = best?;
        self.workers.slot_of(crate::core::task::WorkerId(id))
    }

    /// Hand ready tasks to workers with free slots until either runs out.
    pub(super) fn fill(&mut self) {
        // Walltime checks only when some worker has a known end.
        let timed = self.workers.timed() > 0;
        // The latest end of a worker that found no task it has time for in this round: one
        // ending sooner finds none either (the queue's best tasks barely change meanwhile), so
        // many workers of one ending job cost one look into the queue, not one each.
        let mut none_in_time_until: Option<std::time::Instant> = None;
        while let Some(free) = self.workers.least_loaded_with_room() {
            let tasks = &self.tasks;
            let Some(top) = self.ready.peek_valid(|e| is_ready_entry(tasks, e)) else {
                break;
            };
            if let Some(preferred) = self.tasks[top.task].preferred {
                if self
                    .workers
                    .get(preferred)
                    .is_some_and(|w| w.has_free_slot())
                    && (!timed || self.runs_in_time(top.task, preferred))
                    && self.fits(top.task, preferred)
                {
                    self.ready.pop_top();
                    self.assign(top.task, preferred);
                    continue;
                }
            }
            let tasks = &self.tasks;
            let local = self.workers[free]
                .preferred
                .peek_valid(|e| is_preferred_entry(tasks, e, free));
            if let Some(entry) = local {
                if (!timed || self.runs_in_time(entry.task, free)) && self.fits(entry.task, free) {
                    self.workers[free].preferred.pop_top();
                    self.assign(entry.task, free);
                    continue;
                }
            }
            if (!timed || self.runs_in_time(top.task, free))
                && self.worth_moving(top.task, free)
                && self.fits(top.task, free)
            {
                self.ready.pop_top();
                self.assign(top.task, free);
                continue;
            }
            // Its job ends before the best tasks would finish (and others have time for them),
            // or their inputs are too big to move here: look a little deeper into the queue.
            let end = self.workers[free].ends_at;
            if end.is_some() && end <= none_in_time_until {
                self.workers.hide(free);
                continue;
            }
            match self.take_ready_task_for(free) {
                Some(id) => self.assign(id, free),
                None => {
                    none_in_time_until = none_in_time_until.max(end);
                    self.workers.hide(free);
                }
            }
        }
        self.workers.unhide_all();
    }

    /// Send a task whose inputs are all in memory to a worker.
    pub(super) fn assign(&mut self, id: TaskId, slot: WorkerSlot) {
        if self.tasks[id].kernel.is_none() {
            // Scattered data is never computed; it cannot get here, but never send it.
            return;
        }
        self.set_state(id, TaskState::Processing);
        let request = self.tasks[id].request;
        let extra_cpus = if request == 0 {
            0
        } else {
            self.reserve_resources(id, slot);
            self.requests.extra_cpus(request)
        };
        let position = self.workers.push_processing(slot, id, extra_cpus);
        let task = &mut self.tasks[id];
        task.processing_on = Some(slot);
        task.position_on_worker = position;
        self.flush_frees_of(slot);
        if !self.cancelled_runs.is_empty() {
            // A new run supersedes a cancelled one on the same worker.
            let worker = self.workers[slot].id;
            self.take_cancelled_run(id, worker);
        }
        let task = &self.tasks[id];
        let deps = task
            .deps
            .as_slice()
            .iter()
            .map(|&d| {
                let dep = &self.tasks[d];
                DepLocation {
                    key: dep.key.clone(),
                    nbytes: dep.nbytes,
                    holders: dep.holders.as_slice().to_vec(),
                }
            })
            .collect();
        let Some(kernel) = task.kernel.clone() else {
            return;
        };
        self.actions.push(Action::Compute {
            worker: self.workers[slot].id,
            key: task.key.clone(),
            kernel,
            args: task.args.clone(),
            deps,
            priority: task.priority,
            resources: self.requests.get(task.request).clone(),
        });
    }
}
