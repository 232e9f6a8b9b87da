//! Recovery: a worker leaving, and inputs a worker could not fetch.
//!
//! When a worker leaves, undrained actions for it are dropped, its results are lost (recomputed
//! if still needed, recursively re-running lost inputs; otherwise forgotten), and its tasks in
//! flight go back to waiting or ready. A task whose worker died `allowed_failures` times errs
//! (KilledWorker). When a worker reports inputs it could not fetch, the replicas it was pointed
//! at are dropped (recomputing inputs left without a copy) and its task is re-queued.
//! This module must not choose workers.

use std::sync::Arc;

use super::lifecycle::is_preferred_entry;
use super::task_store::{TaskError, TaskState};
use super::Scheduler;
use crate::core::task::{TaskKey, WorkerId};

impl Scheduler {
    pub(super) fn on_worker_left(&mut self, worker: WorkerId) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        if !self.actions.is_empty() {
            self.purge_actions_for(worker);
        }
        let Some(gone) = self.workers.remove(slot) else {
            return;
        };
        for entry in gone.preferred.entries() {
            if is_preferred_entry(&self.tasks, entry, slot) {
                self.tasks[entry.task].preferred = None;
            }
        }
        // Tasks in flight stay "processing" on no worker until the lost data is accounted for.
        for &id in &gone.processing {
            let task = &mut self.tasks[id];
            task.processing_on = None;
            task.steal_pending = false;
        }
        for r in gone.held.into_entries() {
            if !self.tasks.is_live(r) || !self.tasks[r.id].holders.remove_item(&worker) {
                continue;
            }
            let id = r.id;
            self.note_copy_in_memory(id, worker);
            if self.tasks[id].holders.is_empty() && self.tasks[id].state == TaskState::Memory {
                self.data_lost(id);
            }
        }
        for &id in &gone.processing {
            let task = &mut self.tasks[id];
            if task.state != TaskState::Processing || task.processing_on.is_some() {
                continue;
            }
            task.failures += 1;
            if task.failures >= self.config.allowed_failures {
                let n = task.failures;
                let key = task.key.clone();
                let message = format!(
                    "worker died while running this task {n} times (KilledWorker); the last was \
                     {worker}"
                );
                self.err_task(id, Arc::new(TaskError { root: key, message }));
            } else {
                self.requeue(id);
            }
        }
    }

    pub(super) fn on_deps_missing(&mut self, worker: WorkerId, key: &TaskKey, missing: &[TaskKey]) {
        let Some(slot) = self.workers.slot_of(worker) else {
            return;
        };
        for dep_key in missing {
            let Some(dep) = self.tasks.lookup(dep_key) else {
                continue;
            };
            if self.tasks[dep].state != TaskState::Memory {
                continue;
            }
            let holders = self.tasks[dep].holders.as_slice().to_vec();
            for holder in holders {
                if let Some(holder_slot) = self.workers.slot_of(holder) {
                    self.queue_free(holder_slot, dep_key.clone());
                    self.drop_replica(dep, holder_slot);
                }
            }
        }
        let Some(id) = self.tasks.lookup(key) else {
            return;
        };
        let task = &self.tasks[id];
        if task.state == TaskState::Processing && task.processing_on == Some(slot) {
            self.detach_from_worker(id);
            self.requeue(id);
        }
    }
}
