//! Where a worker keeps its copy of a result: in memory, or spilled to its local disk.
//!
//! Workers report in batches which of their results moved to disk or back
//! ([`Event::ResidencyChanged`](super::Event::ResidencyChanged)). Placement counts an input
//! held on a worker's disk at [`SPILLED_WEIGHT_SHIFT`]'s discount: running there still saves
//! the network transfer, but costs a read from local disk, and the worker spilled because its
//! memory is under pressure, so a worker holding the input in memory is better. Only spilled
//! copies are recorded (in a side map that stays empty while nothing spills, so clusters that
//! never spill pay nothing); a copy added again (recomputed, replicated) or dropped is back to
//! "in memory" or forgotten. This module keeps the books; it must not place tasks.

use super::inline_vec::InlineVec;
use super::task_store::{TaskId, TaskState};
use super::Scheduler;
use crate::core::task::{TaskKey, WorkerId};

/// A spilled input byte counts `1 >> SPILLED_WEIGHT_SHIFT` of an in-memory one (one half).
pub(super) const SPILLED_WEIGHT_SHIFT: u32 = 1;

/// The holders of one result whose copy is on disk.
pub(super) struct SpilledCopies {
    /// Generation of the task when recorded (a recycled task id is not this result).
    generation: u32,
    workers: InlineVec<WorkerId, 2>,
}

impl Scheduler {
    pub(super) fn on_residency_changed(
        &mut self,
        worker: WorkerId,
        to_disk: &[TaskKey],
        to_memory: &[TaskKey],
    ) {
        if self.workers.slot_of(worker).is_none() {
            return;
        }
        for key in to_disk {
            let Some(id) = self.tasks.lookup(key) else {
                continue;
            };
            let task = &self.tasks[id];
            if task.state != TaskState::Memory || !task.holders.contains(&worker) {
                continue;
            }
            let generation = task.generation;
            let copies = self.spilled.entry(id).or_insert_with(|| SpilledCopies {
                generation,
                workers: InlineVec::new(),
            });
            if copies.generation != generation {
                copies.generation = generation;
                copies.workers = InlineVec::new();
            }
            if !copies.workers.contains(&worker) {
                copies.workers.push(worker);
            }
        }
        for key in to_memory {
            if let Some(id) = self.tasks.lookup(key) {
                self.note_copy_in_memory(id, worker);
            }
        }
    }

    /// The worker's copy of the result is in memory (or gone): it no longer counts as spilled.
    #[inline]
    pub(super) fn note_copy_in_memory(&mut self, id: TaskId, worker: WorkerId) {
        if self.spilled.is_empty() {
            return;
        }
        if let Some(copies) = self.spilled.get_mut(&id) {
            copies.workers.remove_item(&worker);
            if copies.workers.is_empty() {
                self.spilled.remove(&id);
            }
        }
    }

    /// No copy of the result is left (freed everywhere, or the task is forgotten).
    #[inline]
    pub(super) fn forget_spilled_copies(&mut self, id: TaskId) {
        if !self.spilled.is_empty() {
            self.spilled.remove(&id);
        }
    }

    /// True when `worker`'s copy of the result of `id` is on its disk.
    #[inline]
    pub(super) fn is_spilled_on(&self, id: TaskId, worker: WorkerId) -> bool {
        self.spilled.get(&id).is_some_and(|copies| {
            copies.generation == self.tasks[id].generation && copies.workers.contains(&worker)
        })
    }

    /// Results recorded as spilled on some worker (for tests and `tessera info`).
    #[cfg(test)]
    pub(super) fn spilled_results(&self) -> usize {
        self.spilled.len()
    }
}
