//! Everything that can happen to the scheduler, as plain data.
//!
//! Drivers translate messages, disconnections and timers into these events. Nothing here
//! refers to sockets, addresses or threads.

use std::time::Duration;

use crate::core::task::{ClientId, TaskKey, TaskSpec, WorkerId};

/// An input to [`Scheduler::handle`](super::Scheduler::handle).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A worker registered. It can run `nthreads` tasks at once.
    WorkerJoined {
        worker: WorkerId,
        nthreads: u32,
        /// Bytes the worker may hold in memory; `None` when unlimited.
        memory_limit: Option<u64>,
        /// How long the worker will still take tasks, counted from this event (its job's
        /// walltime or `--lifetime`, as remaining time because node clocks differ); `None`
        /// when it has no known end. Tasks known to take longer go to other workers.
        lifetime: Option<Duration>,
        /// Named generic resources it offers (`gpus` → 2); its CPUs are `nthreads` and the
        /// memory tasks may claim is `memory_limit`.
        generic: Vec<(String, u32)>,
    },
    /// A worker is gone (clean exit, crash, lost connection). Its data is gone with it.
    WorkerLeft { worker: WorkerId },
    /// A client connected.
    ClientJoined { client: ClientId },
    /// A client disconnected: everything it wanted is released.
    ClientLeft { client: ClientId },
    /// A client submitted tasks and wants the results of `wanted` (each must be a key of a
    /// task in `tasks` or a key the scheduler already knows).
    GraphSubmitted {
        client: ClientId,
        tasks: Vec<TaskSpec>,
        wanted: Vec<TaskKey>,
    },
    /// A client put data directly onto a worker (scatter); the client wants these keys.
    DataScattered {
        client: ClientId,
        worker: WorkerId,
        /// Keys with their sizes in bytes.
        keys: Vec<(TaskKey, u64)>,
    },
    /// A client no longer needs these keys (its futures were dropped).
    KeysReleased {
        client: ClientId,
        keys: Vec<TaskKey>,
    },
    /// A client cancels these keys: they stop being computed unless another client wants them.
    CancelRequested {
        client: ClientId,
        keys: Vec<TaskKey>,
    },
    /// A client asks where these keys are held (to fetch them). Answered with
    /// [`Action::Located`] as soon as each key is in memory, now or later.
    LocateRequested {
        client: ClientId,
        keys: Vec<TaskKey>,
    },
    /// A worker finished a task; its result of `nbytes` bytes is in the worker's memory.
    TaskFinished {
        worker: WorkerId,
        key: TaskKey,
        nbytes: u64,
        /// How long the kernel ran, when the worker measured it: feeds the duration
        /// estimate of the task's prefix (see [`task_prefix`](super::task_prefix)).
        compute: Option<Duration>,
    },
    /// A task's kernel failed (error or panic) on a worker.
    TaskFailed {
        worker: WorkerId,
        key: TaskKey,
        message: String,
    },
    /// A worker could not fetch some inputs of `key` from the workers it was told hold them.
    DepsMissing {
        worker: WorkerId,
        key: TaskKey,
        missing: Vec<TaskKey>,
    },
    /// The answer to [`Action::Steal`]: `stolen` is true when the worker dropped the task before
    /// starting it, false when it had already started (the result will come as usual).
    StealReply {
        worker: WorkerId,
        key: TaskKey,
        stolen: bool,
    },
    /// A worker is about to leave gracefully (walltime near, scale-down): it gets no new
    /// tasks, its queued tasks are taken back, its sole copies of results are replicated, then
    /// it is told to close ([`Action::CloseWorker`](super::Action::CloseWorker)).
    WorkerRetiring { worker: WorkerId },
    /// A worker stored the copy asked for by [`Action::Replicate`](super::Action::Replicate).
    ReplicaStored { worker: WorkerId, key: TaskKey },
    /// A worker could not fetch the copy asked for by `Replicate`.
    ReplicaFailed { worker: WorkerId, key: TaskKey },
    /// A worker's memory is high: send it no new task (tasks it has keep running).
    WorkerPaused { worker: WorkerId },
    /// A paused worker can take tasks again.
    WorkerResumed { worker: WorkerId },
    /// Results a worker holds moved between its memory and its local disk (spilled, or read
    /// back). Keys the worker is not known to hold are ignored.
    ResidencyChanged {
        worker: WorkerId,
        /// Now on the worker's disk only.
        to_disk: Vec<TaskKey>,
        /// Back in the worker's memory.
        to_memory: Vec<TaskKey>,
    },
    /// Periodic: a chance to rebalance and steal.
    Tick,
}
