//! Retiring workers gracefully: a worker that is about to leave (its job's walltime is near,
//! or the autoscaler scales down) gets no new tasks, gives back the ones it has not started,
//! and has every result of which it holds the only copy replicated to another worker before
//! it is told to close, so leaving loses nothing.
//!
//! Flow: `WorkerRetiring` → `Steal` for each of its queued tasks, `Replicate { worker: target,
//! from: retiring }` for each sole copy → the target reports `ReplicaStored` (or
//! `ReplicaFailed`) → once the retiring worker runs nothing and no copy is outstanding,
//! `CloseWorker`. Results it finishes meanwhile are replicated too. When no other worker is
//! left to take the data, the worker is closed as soon as it runs nothing (its results are
//! recomputed later if still needed, as for any worker that leaves). This module must not
//! choose placement for tasks (stolen tasks go through the usual paths).

use super::fast_hash::FastMap;
use super::task_store::{TaskId, TaskState};
use super::worker_pool::WorkerSlot;
use super::{Action, Scheduler};
use crate::core::task::{TaskKey, WorkerId};

/// Progress of one retiring worker.
#[derive(Default)]
pub(super) struct Retirement {
    /// Sole copies being replicated: task → the worker receiving the copy.
    outstanding: FastMap<TaskId, WorkerId>,
    /// `CloseWorker` was emitted.
    closed: bool,
}

impl Scheduler {
    pub(super) fn on_worker_retiring(&mut self, worker: WorkerId) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        if self.retiring.contains_key(&worker) {
            return;
        }
        self.workers.set_retiring(slot);
        self.retiring.insert(worker, Retirement::default());
        // Ask back every task it has not started; the ones already running finish there.
        let queued: Vec<TaskId> = self.workers[slot]
            .processing
            .iter()
            .copied()
            .filter(|&id| !self.tasks[id].steal_pending)
            .collect();
        for id in queued {
            self.tasks[id].steal_pending = true;
            self.workers[slot].stealing += 1;
            self.flush_frees_of(slot);
            self.actions.push(Action::Steal {
                worker,
                key: self.tasks[id].key.clone(),
            });
        }
    }

    pub(super) fn on_replica_stored(&mut self, worker: WorkerId, key: &TaskKey) {
        let Some(id) = self.tasks.lookup(key) else {
            if let Some(slot) = self.workers.slot_of(worker) {
                self.queue_free(slot, key.clone());
            }
            return;
        };
        self.forget_outstanding(id, worker);
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        if self.tasks[id].state == TaskState::Memory {
            self.add_holder(id, slot);
        } else {
            self.queue_free(slot, key.clone());
        }
    }

    pub(super) fn on_replica_failed(&mut self, worker: WorkerId, key: &TaskKey) {
        if let Some(id) = self.tasks.lookup(key) {
            // Retried by `progress_retirements` while the retiring worker still holds it.
            self.forget_outstanding(id, worker);
        }
    }

    /// A worker left: it is no longer retiring, nor the target of outstanding copies.
    pub(super) fn forget_retiring_worker(&mut self, worker: WorkerId) {
        self.retiring.remove(&worker);
        for retirement in self.retiring.values_mut() {
            retirement.outstanding.retain(|_, target| *target != worker);
        }
    }

    fn forget_outstanding(&mut self, id: TaskId, target: WorkerId) {
        for retirement in self.retiring.values_mut() {
            if retirement.outstanding.get(&id) == Some(&target) {
                retirement.outstanding.remove(&id);
            }
        }
    }

    /// Replicate sole copies held by retiring workers and close those that are done.
    pub(super) fn progress_retirements(&mut self) {
        if self.retiring.is_empty() {
            return;
        }
        let mut retiring: Vec<WorkerId> = self.retiring.keys().copied().collect();
        retiring.sort_unstable();
        for worker in retiring {
            let Some(slot) = self.workers.slot_of(worker) else {
                continue;
            };
            let mut sole: Vec<TaskId> = self.workers[slot]
                .held
                .iter()
                .filter(|&r| self.tasks.is_live(r))
                .map(|r| r.id)
                .filter(|&id| {
                    let task = &self.tasks[id];
                    task.state == TaskState::Memory && task.holders.as_slice() == [worker]
                })
                .collect();
            sole.sort_unstable();
            sole.dedup();
            let has_target = self.replica_target(slot).is_some();
            for id in sole {
                let pending = self
                    .retiring
                    .get(&worker)
                    .is_some_and(|r| r.outstanding.contains_key(&id));
                if pending {
                    continue;
                }
                let Some(target) = self.replica_target(slot) else {
                    break;
                };
                let target_id = self.workers[target].id;
                let task = &self.tasks[id];
                self.actions.push(Action::Replicate {
                    worker: target_id,
                    key: task.key.clone(),
                    nbytes: task.nbytes,
                    from: worker,
                });
                if let Some(r) = self.retiring.get_mut(&worker) {
                    r.outstanding.insert(id, target_id);
                }
            }
            let idle = self.workers[slot].processing.is_empty();
            let Some(retirement) = self.retiring.get_mut(&worker) else {
                continue;
            };
            let copies_done = retirement.outstanding.is_empty();
            if idle && (copies_done || !has_target) && !retirement.closed {
                retirement.closed = true;
                self.flush_frees_of(slot);
                self.actions.push(Action::CloseWorker { worker });
            }
        }
    }

    /// The least-loaded worker that is not retiring, other than `from`.
    fn replica_target(&self, from: WorkerSlot) -> Option<WorkerSlot> {
        if let Some(slot) = self.workers.least_loaded_with_room_except(from) {
            return Some(slot);
        }
        self.workers
            .iter()
            .filter(|(slot, w)| *slot != from && !w.retiring)
            .min_by_key(|(_, w)| (w.processing.len(), w.id))
            .map(|(slot, _)| slot)
    }
}
