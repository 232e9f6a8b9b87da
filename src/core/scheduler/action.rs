//! Everything the scheduler asks its driver to do, as plain data.

use bytes::Bytes;

use crate::core::resources::ResourceRequest;
use crate::core::task::{ClientId, KernelName, TaskKey, WorkerId};

/// Where one input of a task can be fetched from.
#[derive(Clone, Debug, PartialEq)]
pub struct DepLocation {
    pub key: TaskKey,
    /// Size of the result in bytes.
    pub nbytes: u64,
    /// Workers holding it (never empty). The executing worker may be among them.
    pub holders: Vec<WorkerId>,
}

/// An output of the scheduler, drained with [`Scheduler::drain_actions`](super::Scheduler::drain_actions).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Run a task on a worker. Workers run queued tasks lowest `priority` first.
    Compute {
        worker: WorkerId,
        key: TaskKey,
        kernel: KernelName,
        args: Bytes,
        deps: Vec<DepLocation>,
        priority: u64,
        /// What the task needs; the worker starts it when these are free.
        resources: ResourceRequest,
    },
    /// Drop these keys on a worker: their data, or the queued task if not yet run.
    Free {
        worker: WorkerId,
        keys: Vec<TaskKey>,
    },
    /// Ask a worker to give back a queued task it has not started (answered by
    /// [`Event::StealReply`](super::Event::StealReply)).
    Steal { worker: WorkerId, key: TaskKey },
    /// A key the client wants is in memory. Sent exactly once per wanted key and client.
    KeyReady {
        client: ClientId,
        key: TaskKey,
        nbytes: u64,
        holders: Vec<WorkerId>,
    },
    /// A key the client wants failed: `root` is the task whose kernel failed (the key itself,
    /// or one of its dependencies). Sent exactly once per wanted key and client.
    KeyErred {
        client: ClientId,
        key: TaskKey,
        root: TaskKey,
        message: String,
    },
    /// Answer to [`Event::LocateRequested`](super::Event::LocateRequested).
    Located {
        client: ClientId,
        key: TaskKey,
        holders: Vec<WorkerId>,
    },
    /// Fetch `key` (`nbytes` bytes) from the retiring worker `from` and keep it as a result
    /// this worker holds; answered by `ReplicaStored` or `ReplicaFailed`.
    Replicate {
        worker: WorkerId,
        key: TaskKey,
        nbytes: u64,
        from: WorkerId,
    },
    /// A retiring worker has handed everything over: tell it to exit.
    CloseWorker { worker: WorkerId },
}
