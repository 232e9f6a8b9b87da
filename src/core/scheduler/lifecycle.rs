//! The task state transitions and the "is it still needed?" bookkeeping.
//!
//! A task is *active* while it still has to run (waiting, ready, processing); every active task
//! counts as an active dependent of each of its inputs. A task is *needed* while a client wants
//! it or it has an active dependent. Needed tasks are computed (recursively recomputing lost or
//! released inputs); tasks that stop being needed are released (data freed, queued or running
//! copies cancelled) and forgotten once no dependent is left that might need them again.
//! Every cascade here is iterative, so million-long chains cannot overflow the stack.
//! This module must not decide placement (that is `placement`).

use std::sync::Arc;

use super::ready_queue::ReadyEntry;
use super::task_store::{TaskError, TaskId, TaskRef, TaskState};
use super::worker_pool::WorkerSlot;
use super::Scheduler;
use crate::core::task::WorkerId;

impl Scheduler {
    /// Change a task's state, undoing the ready-queue bookkeeping when it leaves `Ready`.
    pub(super) fn set_state(&mut self, id: TaskId, state: TaskState) {
        let task = &mut self.tasks[id];
        if task.state == TaskState::Ready {
            if let Some(slot) = task.preferred.take() {
                if let Some(worker) = self.workers.get_mut(slot) {
                    worker.preferred_live = worker.preferred_live.saturating_sub(1);
                }
            }
        }
        self.tasks.set_state(id, state);
    }

    fn activate_deps(&mut self, id: TaskId) {
        for i in 0..self.tasks[id].deps.len() {
            let dep = self.tasks[id].deps[i];
            self.tasks[dep].active_dependents += 1;
        }
    }

    fn deactivate_deps(&mut self, id: TaskId) {
        for i in 0..self.tasks[id].deps.len() {
            let dep = self.tasks[id].deps[i];
            let task = &mut self.tasks[dep];
            task.active_dependents = task.active_dependents.saturating_sub(1);
            if task.active_dependents == 0 {
                let r = self.tasks.task_ref(dep);
                self.release_checks.push(r);
            }
        }
    }

    /// Make a needed task produce its result: a released task (and, recursively, its released
    /// inputs) goes back to waiting or ready. A task that cannot be computed errs.
    pub(super) fn ensure_computing(&mut self, root: TaskId) {
        let mut stack = std::mem::take(&mut self.scratch_tasks);
        stack.clear();
        stack.push(root);
        while let Some(id) = stack.pop() {
            if self.tasks[id].state != TaskState::Released {
                continue;
            }
            if self.tasks[id].kernel.is_none() {
                let key = self.tasks[id].key.clone();
                let message = format!(
                    "the data of {key} was scattered by a client and is lost (its worker is \
                     gone); it cannot be recomputed"
                );
                self.err_task(id, Arc::new(TaskError { root: key, message }));
                continue;
            }
            let erred_input = self.tasks[id].deps.as_slice().iter().find_map(|&d| {
                let dep = &self.tasks[d];
                (dep.state == TaskState::Erred)
                    .then(|| dep.error.clone())
                    .flatten()
            });
            if let Some(error) = erred_input {
                self.err_task(id, error);
                continue;
            }
            self.set_state(id, TaskState::Waiting);
            self.activate_deps(id);
            let mut waiting = 0;
            for i in 0..self.tasks[id].deps.len() {
                let dep = self.tasks[id].deps[i];
                match self.tasks[dep].state {
                    TaskState::Memory => {}
                    TaskState::Released => {
                        waiting += 1;
                        stack.push(dep);
                    }
                    _ => waiting += 1,
                }
            }
            self.tasks[id].waiting_on = waiting;
            if waiting == 0 {
                self.enter_ready(id);
            }
        }
        self.scratch_tasks = stack;
    }

    /// Queue a task whose inputs are all in memory, globally and at its preferred worker.
    pub(super) fn enter_ready(&mut self, id: TaskId) {
        self.set_state(id, TaskState::Ready);
        let preferred = self.preferred_worker(id);
        let task = &self.tasks[id];
        let entry = ReadyEntry {
            priority: task.priority,
            task: id,
            generation: task.generation,
        };
        self.ready.push(entry);
        let live = self.tasks.count(TaskState::Ready);
        let tasks = &self.tasks;
        self.ready
            .compact_if_sparse(live, |e| is_ready_entry(tasks, e));
        if let Some(slot) = preferred {
            self.tasks[id].preferred = Some(slot);
            let tasks = &self.tasks;
            if let Some(worker) = self.workers.get_mut(slot) {
                worker.preferred.push(entry);
                worker.preferred_live += 1;
                let live = worker.preferred_live as usize;
                worker
                    .preferred
                    .compact_if_sparse(live, |e| is_preferred_entry(tasks, e, slot));
            }
        }
    }

    /// A result is in memory on `slot`. The task may be active or released (a result that
    /// arrives for a task that was put back to waiting, or scattered data).
    pub(super) fn enter_memory(&mut self, id: TaskId, slot: WorkerSlot, nbytes: u64) {
        let state = self.tasks[id].state;
        if state == TaskState::Processing {
            if let Some(on) = self.detach_from_worker(id) {
                if on != slot {
                    // Computed elsewhere first (e.g. after a steal): cancel this copy.
                    self.cancel_run(on, id);
                }
            }
        }
        if state.is_active() {
            self.deactivate_deps(id);
        }
        self.set_state(id, TaskState::Memory);
        self.tasks[id].nbytes = nbytes;
        self.add_holder(id, slot);
        for i in 0..self.tasks[id].dependents.len() {
            let r = self.tasks[id].dependents[i];
            if !self.tasks.is_live(r) {
                continue;
            }
            let dependent = &mut self.tasks[r.id];
            if dependent.state == TaskState::Waiting {
                dependent.waiting_on = dependent.waiting_on.saturating_sub(1);
                if dependent.waiting_on == 0 {
                    self.enter_ready(r.id);
                }
            }
        }
        self.report_ready(id);
        let r = self.tasks.task_ref(id);
        self.release_checks.push(r);
    }

    /// Record that the worker in `slot` holds the task's result.
    pub(super) fn add_holder(&mut self, id: TaskId, slot: WorkerSlot) {
        let Some(holder) = self.workers.get(slot).map(|w| w.id) else {
            return;
        };
        // A copy (re)stored by the worker starts in its memory.
        self.note_copy_in_memory(id, holder);
        let Some(worker) = self.workers.get_mut(slot) else {
            return;
        };
        let task = &mut self.tasks[id];
        if task.holders.contains(&worker.id) {
            return;
        }
        task.holders.push(worker.id);
        worker.held_bytes += task.nbytes;
        let r = TaskRef {
            id,
            generation: task.generation,
        };
        let tasks = &self.tasks;
        worker.held.push(r, |e| {
            tasks.is_live(e) && tasks[e.id].holders.contains(&holder)
        });
    }

    /// Forget the replica on `slot` (the caller decides whether to send a `Free`). When it was
    /// the last copy the result is lost: recomputed if still needed.
    pub(super) fn drop_replica(&mut self, id: TaskId, slot: WorkerSlot) {
        if let Some(worker) = self.workers.get_mut(slot) {
            let task = &mut self.tasks[id];
            let holder = worker.id;
            if task.holders.remove_item(&holder) {
                worker.held.note_removed();
                worker.held_bytes = worker.held_bytes.saturating_sub(task.nbytes);
            }
            self.note_copy_in_memory(id, holder);
        }
        if self.tasks[id].holders.is_empty() && self.tasks[id].state == TaskState::Memory {
            self.data_lost(id);
        }
    }

    /// The last copy of a result is gone.
    pub(super) fn data_lost(&mut self, id: TaskId) {
        self.set_state(id, TaskState::Released);
        for i in 0..self.tasks[id].dependents.len() {
            let r = self.tasks[id].dependents[i];
            if !self.tasks.is_live(r) {
                continue;
            }
            match self.tasks[r.id].state {
                TaskState::Waiting => self.tasks[r.id].waiting_on += 1,
                TaskState::Ready => {
                    self.set_state(r.id, TaskState::Waiting);
                    self.tasks[r.id].waiting_on = 1;
                }
                _ => {}
            }
        }
        if self.tasks[id].is_needed() {
            self.ensure_computing(id);
        } else {
            let r = self.tasks.task_ref(id);
            self.release_checks.push(r);
        }
    }

    /// A task fails: it and, transitively, its active dependents err with `error`.
    pub(super) fn err_task(&mut self, root: TaskId, error: Arc<TaskError>) {
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let state = self.tasks[id].state;
            if matches!(state, TaskState::Erred | TaskState::Forgotten) {
                continue;
            }
            if id != root && !state.is_active() {
                continue;
            }
            if state == TaskState::Processing {
                if let Some(on) = self.detach_from_worker(id) {
                    self.cancel_run(on, id);
                }
            }
            if state.is_active() {
                self.deactivate_deps(id);
            }
            if state == TaskState::Memory {
                self.free_all_replicas(id);
            }
            self.set_state(id, TaskState::Erred);
            self.tasks[id].error = Some(error.clone());
            self.report_erred(id);
            for i in 0..self.tasks[id].dependents.len() {
                let r = self.tasks[id].dependents[i];
                if self.tasks.is_live(r) && self.tasks[r.id].state.is_active() {
                    stack.push(r.id);
                }
            }
            let r = self.tasks.task_ref(id);
            self.release_checks.push(r);
        }
    }

    /// Take a processing task off its worker's books; returns that worker if still connected.
    pub(super) fn detach_from_worker(&mut self, id: TaskId) -> Option<WorkerSlot> {
        let task = &mut self.tasks[id];
        let slot = task.processing_on.take()?;
        let position = task.position_on_worker;
        let was_stealing = std::mem::take(&mut task.steal_pending);
        let worker = self.workers.get_mut(slot)?;
        if was_stealing {
            worker.stealing = worker.stealing.saturating_sub(1);
        }
        let request = self.tasks[id].request;
        let extra_cpus = if request == 0 {
            0
        } else {
            self.release_resources(id, slot);
            self.requests.extra_cpus(request)
        };
        if let Some(moved) = self
            .workers
            .swap_remove_processing(slot, position, extra_cpus)
        {
            self.tasks[moved].position_on_worker = position;
        }
        if self.workers[slot].processing.is_empty() {
            self.idle_hint = true;
        }
        Some(slot)
    }

    /// An active task that is on no worker any more goes back to waiting (recomputing lost
    /// inputs) or ready.
    pub(super) fn requeue(&mut self, id: TaskId) {
        self.set_state(id, TaskState::Waiting);
        let mut waiting = 0;
        let mut released = Vec::new();
        for i in 0..self.tasks[id].deps.len() {
            let dep = self.tasks[id].deps[i];
            match self.tasks[dep].state {
                TaskState::Memory => {}
                TaskState::Released => {
                    waiting += 1;
                    released.push(dep);
                }
                _ => waiting += 1,
            }
        }
        self.tasks[id].waiting_on = waiting;
        for dep in released {
            self.ensure_computing(dep);
        }
        let task = &self.tasks[id];
        if task.state == TaskState::Waiting && task.waiting_on == 0 {
            self.enter_ready(id);
        }
    }

    /// Tell the worker in `slot` to drop its run of a processing task, and remember that a
    /// result it may already have sent is stale: the worker drops that result on the `Free`.
    pub(super) fn cancel_run(&mut self, slot: WorkerSlot, id: TaskId) {
        let Some(worker) = self.workers.get(slot) else {
            return;
        };
        let worker_id = worker.id;
        let key = self.tasks[id].key.clone();
        self.queue_free(slot, key);
        let runs = self.cancelled_runs.entry(id).or_default();
        if !runs.contains(&worker_id) {
            runs.push(worker_id);
        }
    }

    /// True (and forgotten) when `worker`'s run of the task was cancelled since it was last
    /// sent there: its report is stale.
    pub(super) fn take_cancelled_run(&mut self, id: TaskId, worker: WorkerId) -> bool {
        if self.cancelled_runs.is_empty() {
            return false;
        }
        let Some(runs) = self.cancelled_runs.get_mut(&id) else {
            return false;
        };
        let found = runs.remove_item(&worker);
        if runs.is_empty() {
            self.cancelled_runs.remove(&id);
        }
        found
    }

    /// Free the result on every holder.
    pub(super) fn free_all_replicas(&mut self, id: TaskId) {
        let holders = std::mem::take(&mut self.tasks[id].holders);
        self.forget_spilled_copies(id);
        let nbytes = self.tasks[id].nbytes;
        for &holder in holders.as_slice() {
            if let Some(slot) = self.workers.slot_of(holder) {
                let worker = &mut self.workers[slot];
                worker.held.note_removed();
                worker.held_bytes = worker.held_bytes.saturating_sub(nbytes);
                let key = self.tasks[id].key.clone();
                self.queue_free(slot, key);
            }
        }
    }

    /// Release every task queued for a check that is no longer needed, and forget those
    /// without dependents; cascades to their inputs.
    pub(super) fn settle(&mut self) {
        while let Some(r) = self.release_checks.pop() {
            if !self.tasks.is_live(r) {
                continue;
            }
            let id = r.id;
            if self.tasks[id].is_needed() {
                continue;
            }
            match self.tasks[id].state {
                TaskState::Waiting | TaskState::Ready => {
                    self.set_state(id, TaskState::Released);
                    self.deactivate_deps(id);
                }
                TaskState::Processing => {
                    if let Some(on) = self.detach_from_worker(id) {
                        self.cancel_run(on, id);
                    }
                    self.set_state(id, TaskState::Released);
                    self.deactivate_deps(id);
                }
                TaskState::Memory => {
                    self.free_all_replicas(id);
                    self.set_state(id, TaskState::Released);
                }
                TaskState::Released | TaskState::Erred | TaskState::Forgotten => {}
            }
            if self.tasks[id].state == TaskState::Released {
                self.answer_locates_of_released(id);
            }
            if self.tasks[id].live_dependents == 0 {
                self.forget(id);
            }
        }
    }

    /// Drop a task that nobody wants and no dependent refers to.
    fn forget(&mut self, id: TaskId) {
        self.answer_locates_of_released(id);
        if !self.cancelled_runs.is_empty() {
            self.cancelled_runs.remove(&id);
        }
        self.forget_spilled_copies(id);
        let deps = std::mem::take(&mut self.tasks[id].deps);
        self.tasks.remove(id);
        for &dep in deps.as_slice() {
            let task = &mut self.tasks[dep];
            task.live_dependents = task.live_dependents.saturating_sub(1);
            if task.dependents.len() > 2 * task.live_dependents as usize + 4 {
                let mut dependents = std::mem::take(&mut task.dependents);
                dependents.retain(|r| self.tasks.is_live(*r));
                self.tasks[dep].dependents = dependents;
            }
            let r = self.tasks.task_ref(dep);
            self.release_checks.push(r);
        }
    }
}

/// A global ready-queue entry still names a ready task.
#[inline]
pub(super) fn is_ready_entry(tasks: &super::task_store::TaskStore, e: ReadyEntry) -> bool {
    let task = &tasks[e.task];
    task.generation == e.generation && task.state == TaskState::Ready
}

/// A worker's preferred-queue entry still names a ready task preferring that worker.
#[inline]
pub(super) fn is_preferred_entry(
    tasks: &super::task_store::TaskStore,
    e: ReadyEntry,
    slot: WorkerSlot,
) -> bool {
    let task = &tasks[e.task];
    task.generation == e.generation
        && task.state == TaskState::Ready
        && task.preferred == Some(slot)
}
