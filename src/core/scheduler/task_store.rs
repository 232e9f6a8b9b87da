//! Dense storage of the scheduler's tasks: ids, per-task fields, the key index, state counts.
//!
//! Tasks live in one `Vec` indexed by [`TaskId`]; forgotten slots are recycled through a free
//! list and their generation bumped, so weak references ([`TaskRef`]) to a forgotten task are
//! recognised as stale. This module keeps counts per state; it must not decide transitions
//! (that is `lifecycle`'s job) and must not emit actions.

use std::ops::{Index, IndexMut};
use std::sync::Arc;

use bytes::Bytes;

use super::inline_vec::InlineVec;
use super::key_index::{key_hash, KeyIndex};
use super::worker_pool::WorkerSlot;
use crate::core::task::{ClientId, KernelName, TaskKey, WorkerId};

/// Dense index of a task in the [`TaskStore`]. Valid while the task is not forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TaskId(pub u32);

impl TaskId {
    /// The index into the store's vector.
    #[inline]
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A reference that survives the task being forgotten: stale when the generation differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TaskRef {
    pub id: TaskId,
    pub generation: u32,
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum TaskState {
    /// Known but neither computed nor being computed (not needed, or data freed/lost).
    Released = 0,
    /// Needed; some dependencies are not in memory yet.
    Waiting = 1,
    /// Needed; all dependencies in memory; queued at the scheduler.
    Ready = 2,
    /// Sent to a worker.
    Processing = 3,
    /// Result held by at least one worker.
    Memory = 4,
    /// Failed (itself or a dependency).
    Erred = 5,
    /// Slot is free.
    Forgotten = 6,
}

/// Number of [`TaskState`] variants.
pub(super) const STATE_COUNT: usize = 7;

impl TaskState {
    /// Waiting, ready or processing: the task still has to run and needs its dependencies.
    #[inline]
    pub(super) fn is_active(self) -> bool {
        matches!(
            self,
            TaskState::Waiting | TaskState::Ready | TaskState::Processing
        )
    }
}

/// Why a task erred; shared by every dependent that erred because of it.
#[derive(Debug)]
pub(super) struct TaskError {
    /// The task whose kernel failed (or that could not be run).
    pub root: TaskKey,
    /// Human-readable reason.
    pub message: String,
}

/// A client wanting a task's result, and whether it has been told about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Want {
    pub client: ClientId,
    /// KeyReady or KeyErred already sent for this want.
    pub reported: bool,
}

/// One task. Fields are maintained by the scheduler's transition code.
pub(super) struct Task {
    pub key: TaskKey,
    /// `None` for scattered data (cannot be recomputed).
    pub kernel: Option<KernelName>,
    pub args: Bytes,
    /// Inputs in argument order (strong references: a dependency outlives its dependents).
    pub deps: InlineVec<TaskId, 4>,
    /// Tasks consuming this one, one entry per edge (weak: may hold forgotten tasks).
    pub dependents: InlineVec<TaskRef, 2>,
    /// Workers holding the result.
    pub holders: InlineVec<WorkerId, 2>,
    /// Clients wanting the result.
    pub wants: InlineVec<Want, 1>,
    pub error: Option<Arc<TaskError>>,
    pub priority: u64,
    pub nbytes: u64,
    pub generation: u32,
    /// [`key_hash`] of `key` (its entry in the key index).
    pub key_hash: u32,
    /// Dependencies not in memory (meaningful while waiting).
    pub waiting_on: u32,
    /// Dependents in an active state (edges).
    pub active_dependents: u32,
    /// Dependents not forgotten (edges).
    pub live_dependents: u32,
    pub processing_on: Option<WorkerSlot>,
    /// Index in the processing worker's list.
    pub position_on_worker: u32,
    /// Worker whose preferred queue holds this ready task.
    pub preferred: Option<WorkerSlot>,
    /// Workers that died while this task was processing on them.
    pub failures: u32,
    pub state: TaskState,
    /// A steal request for this task is outstanding.
    pub steal_pending: bool,
    /// Its resource request (interned; 0: one CPU, nothing else; see `resource_fit`).
    pub request: u32,
}

impl Task {
    fn vacant(key: TaskKey) -> Task {
        Task {
            key,
            kernel: None,
            args: Bytes::new(),
            deps: InlineVec::new(),
            dependents: InlineVec::new(),
            holders: InlineVec::new(),
            wants: InlineVec::new(),
            error: None,
            priority: 0,
            nbytes: 0,
            generation: 0,
            key_hash: 0,
            waiting_on: 0,
            active_dependents: 0,
            live_dependents: 0,
            processing_on: None,
            position_on_worker: 0,
            preferred: None,
            failures: 0,
            state: TaskState::Forgotten,
            steal_pending: false,
            request: 0,
        }
    }

    /// Some client wants it, or an active dependent still has to read it.
    #[inline]
    pub(super) fn is_needed(&self) -> bool {
        !self.wants.is_empty() || self.active_dependents > 0
    }

    /// True when `client` wants this task.
    pub(super) fn wanted_by(&self, client: ClientId) -> bool {
        self.wants.as_slice().iter().any(|w| w.client == client)
    }
}

/// All tasks, by dense id and by key.
pub(super) struct TaskStore {
    tasks: Vec<Task>,
    vacant: Vec<TaskId>,
    /// Task ids by key (the keys live in the tasks).
    by_key: KeyIndex,
    counts: [usize; STATE_COUNT],
    placeholder_key: TaskKey,
}

impl TaskStore {
    /// An empty store.
    pub(super) fn new() -> Self {
        TaskStore {
            tasks: Vec::new(),
            vacant: Vec::new(),
            by_key: KeyIndex::default(),
            counts: [0; STATE_COUNT],
            placeholder_key: TaskKey::new(""),
        }
    }

    /// The task with this key, if known.
    #[inline]
    pub(super) fn lookup(&self, key: &TaskKey) -> Option<TaskId> {
        self.lookup_hashed(key, key_hash(key.as_str()))
    }

    /// [`TaskStore::lookup`] of a key whose [`key_hash`] is known.
    #[inline]
    pub(super) fn lookup_hashed(&self, key: &TaskKey, hash: u32) -> Option<TaskId> {
        self.by_key
            .find(hash, |id| self.tasks[id as usize].key == *key)
            .map(TaskId)
    }

    /// Make room for `additional` more tasks.
    pub(super) fn reserve(&mut self, additional: usize) {
        let fresh = additional.saturating_sub(self.vacant.len());
        self.tasks.reserve(fresh);
        self.by_key.reserve(additional);
    }

    /// Add a task in state `state`. The key, whose [`key_hash`] is `hash`, must not be known
    /// yet.
    pub(super) fn insert(
        &mut self,
        key: TaskKey,
        hash: u32,
        kernel: Option<KernelName>,
        args: Bytes,
        priority: u64,
        state: TaskState,
    ) -> TaskId {
        let id = match self.vacant.pop() {
            Some(id) => id,
            None => {
                let id = TaskId(self.tasks.len() as u32);
                self.tasks.push(Task::vacant(self.placeholder_key.clone()));
                id
            }
        };
        self.by_key.insert(hash, id.0);
        let task = &mut self.tasks[id.index()];
        task.key = key;
        task.key_hash = hash;
        task.kernel = kernel;
        task.args = args;
        task.priority = priority;
        task.state = state;
        self.counts[state as usize] += 1;
        id
    }

    /// Forget a task: drop its fields, bump its generation and recycle the slot.
    pub(super) fn remove(&mut self, id: TaskId) {
        let placeholder = self.placeholder_key.clone();
        let task = &mut self.tasks[id.index()];
        self.counts[task.state as usize] -= 1;
        self.by_key.remove(task.key_hash, id.0);
        let generation = task.generation.wrapping_add(1);
        *task = Task::vacant(placeholder);
        task.generation = generation;
        self.counts[TaskState::Forgotten as usize] += 1;
        self.vacant.push(id);
    }

    /// Change a task's state, keeping the per-state counts.
    #[inline]
    pub(super) fn set_state(&mut self, id: TaskId, state: TaskState) {
        let task = &mut self.tasks[id.index()];
        self.counts[task.state as usize] -= 1;
        self.counts[state as usize] += 1;
        task.state = state;
    }

    /// A weak reference to a live task.
    #[inline]
    pub(super) fn task_ref(&self, id: TaskId) -> TaskRef {
        TaskRef {
            id,
            generation: self.tasks[id.index()].generation,
        }
    }

    /// True when `r` still names the same, not forgotten task.
    #[inline]
    pub(super) fn is_live(&self, r: TaskRef) -> bool {
        self.tasks
            .get(r.id.index())
            .is_some_and(|t| t.generation == r.generation && t.state != TaskState::Forgotten)
    }

    /// Number of tasks in `state`.
    pub(super) fn count(&self, state: TaskState) -> usize {
        self.counts[state as usize]
    }

    /// The known (not forgotten) tasks, in slot order.
    pub(super) fn live(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .iter()
            .filter(|t| t.state != TaskState::Forgotten)
    }

    /// Number of known (not forgotten) tasks.
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }
}

impl Index<TaskId> for TaskStore {
    type Output = Task;
    #[inline]
    fn index(&self, id: TaskId) -> &Task {
        &self.tasks[id.index()]
    }
}

impl IndexMut<TaskId> for TaskStore {
    #[inline]
    fn index_mut(&mut self, id: TaskId) -> &mut Task {
        &mut self.tasks[id.index()]
    }
}
