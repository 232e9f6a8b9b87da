//! The scheduler's outgoing actions, and batching of `Free` per worker.
//!
//! Keys to free on a worker are collected during an event and sent as one `Free` per worker,
//! always before any later `Compute` or `Steal` to that worker, so a worker never drops a task
//! that was re-sent to it after being cancelled. This module must not make decisions.

use super::worker_pool::WorkerSlot;
use super::{Action, Scheduler};
use crate::core::task::{TaskKey, WorkerId};

impl Scheduler {
    /// Free `key` on the worker in `slot` (batched; dropped if the worker is gone).
    pub(super) fn queue_free(&mut self, slot: WorkerSlot, key: TaskKey) {
        let Some(worker) = self.workers.get_mut(slot) else {
            return;
        };
        if worker.pending_frees.is_empty() {
            self.workers_with_frees.push(slot);
        }
        worker.pending_frees.push(key);
    }

    /// Emit the pending `Free` of one worker.
    pub(super) fn flush_frees_of(&mut self, slot: WorkerSlot) {
        let Some(worker) = self.workers.get_mut(slot) else {
            return;
        };
        if worker.pending_frees.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut worker.pending_frees);
        self.actions.push(Action::Free {
            worker: worker.id,
            keys,
        });
    }

    /// Emit every pending `Free`.
    pub(super) fn flush_all_frees(&mut self) {
        if self.workers_with_frees.is_empty() {
            return;
        }
        let slots = std::mem::take(&mut self.workers_with_frees);
        for &slot in &slots {
            self.flush_frees_of(slot);
        }
        self.workers_with_frees = slots;
        self.workers_with_frees.clear();
    }

    /// Drop undrained actions addressed to a worker that just left.
    pub(super) fn purge_actions_for(&mut self, gone: WorkerId) {
        self.actions.retain(|action| match action {
            Action::Compute { worker, .. }
            | Action::Free { worker, .. }
            | Action::Steal { worker, .. }
            | Action::CloseWorker { worker } => *worker != gone,
            Action::Replicate { worker, from, .. } => *worker != gone && *from != gone,
            Action::KeyReady { .. } | Action::KeyErred { .. } | Action::Located { .. } => true,
        });
    }
}
