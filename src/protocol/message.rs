//! The messages of the wire protocol, one enum for every direction.
//!
//! Control messages are small and encoded compactly (postcard); array payloads never live in
//! a message: a message refers to a payload of its [`Frame`](super::Frame) by index, and the
//! payload travels as raw bytes. This module must not know about sockets or threads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::{KernelName, ResourceRequest, TaskKey, TaskSpec};

/// Index of a payload in the [`Frame`](super::Frame) carrying the message.
pub type PayloadIndex = u32;

/// What a worker tells the scheduler when it registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerRegistration {
    /// Human-readable name (`rank-3`, `host:pid`, ...).
    pub name: String,
    pub host: String,
    pub pid: u32,
    pub nthreads: u32,
    /// Bytes of memory the worker may use; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// Where peers and clients fetch data from this worker.
    pub data_address: String,
    /// Seconds the worker will still take tasks, counted when it sends this registration (the
    /// nearer of its `--lifetime` and its batch job's end); `None` when it has no known end.
    /// Remaining time rather than a date, because the clocks of nodes differ. Added in
    /// protocol version 2.
    pub remaining_lifetime_secs: Option<f64>,
    /// Named generic resources the worker offers to tasks (`gpus` → 2). Protocol version 3.
    #[serde(default)]
    pub resources: Vec<(String, u32)>,
    /// The worker's memory thresholds as fractions of `memory_limit` (protocol version 3),
    /// shown by the dashboard next to its memory.
    pub memory_thresholds: MemoryThresholds,
}

/// A worker's memory thresholds, fractions of its memory limit (`None`: disabled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryThresholds {
    pub target: Option<f64>,
    pub spill: Option<f64>,
    pub pause: Option<f64>,
    pub terminate: Option<f64>,
}

/// One task for a worker, with where to find its inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComputeTask {
    pub key: TaskKey,
    pub kernel: KernelName,
    pub args: bytes::Bytes,
    /// Inputs in argument order: key, size, data addresses of the workers holding it.
    pub deps: Vec<(TaskKey, u64, Vec<String>)>,
    pub priority: u64,
    /// What the task needs; the worker starts it when these are free. Protocol version 3.
    #[serde(default)]
    pub resources: ResourceRequest,
}

/// Live figures a worker reports with its heartbeat.
///
/// Fields after `completed` were added with spilling; they default to zero/false when absent
/// (JSON from older versions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerMetrics {
    /// Bytes of results held in memory.
    pub memory_bytes: u64,
    /// Process resident set size.
    pub rss_bytes: u64,
    /// Keys held (in memory or spilled).
    pub stored_keys: u64,
    /// Tasks queued or running on the worker.
    pub executing: u32,
    pub ready: u32,
    /// Tasks completed since start.
    pub completed: u64,
    /// Chunks held in memory.
    #[serde(default)]
    pub memory_chunks: u64,
    /// In-memory size of the chunks spilled to disk.
    #[serde(default)]
    pub spilled_bytes: u64,
    /// Chunks spilled to disk.
    #[serde(default)]
    pub spilled_chunks: u64,
    /// Bytes the spill files take on disk.
    #[serde(default)]
    pub spill_disk_bytes: u64,
    /// Bytes written to the spill directory since start.
    #[serde(default)]
    pub spill_written_bytes: u64,
    /// Average spill write throughput since start, bytes per second (0 before any spill).
    #[serde(default)]
    pub spill_bytes_per_second: f64,
    /// Bytes read back from the spill directory since start (unspills and peer reads).
    #[serde(default)]
    pub unspill_read_bytes: u64,
    /// Average read-back throughput since start, bytes per second (0 before any read).
    #[serde(default)]
    pub unspill_bytes_per_second: f64,
    /// Highest resident set size since the worker process started.
    #[serde(default)]
    pub peak_rss_bytes: u64,
    /// The worker is paused (memory above the pause threshold): it starts no new task.
    #[serde(default)]
    pub paused: bool,
    /// Spilling has stopped: the spill directory is full or `--max-spill` is reached.
    #[serde(default)]
    pub disk_full: bool,
    /// CPU time (user + system) the worker's process has used since it started, in seconds
    /// (protocol version 3; the scheduler turns two samples into a CPU load).
    #[serde(default)]
    pub cpu_seconds: f64,
}

/// One worker as `tessera info` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: u32,
    pub name: String,
    pub host: String,
    pub pid: u32,
    pub address: String,
    pub nthreads: u32,
    pub memory_limit: Option<u64>,
    /// Its memory thresholds (fractions of `memory_limit`; protocol version 3).
    #[serde(default)]
    pub memory_thresholds: MemoryThresholds,
    pub metrics: WorkerMetrics,
    /// Seconds until the worker's job ends (`--lifetime` or the batch system's end time), if
    /// known: it retires before then.
    pub remaining_lifetime_secs: Option<f64>,
}

/// The cluster as `tessera info` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub scheduler_address: String,
    pub uptime_secs: f64,
    pub clients: u32,
    pub workers: Vec<WorkerInfo>,
    /// Task counts by state name (waiting, ready, processing, memory, erred), and
    /// `requested_cpus`: the CPUs the ready and processing tasks ask for together.
    pub tasks: BTreeMap<String, u64>,
    /// The web dashboard's URL (without its token), if the scheduler runs one (protocol
    /// version 3).
    #[serde(default)]
    pub dashboard: Option<String>,
}

/// Every message of the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    // ---- worker -> scheduler
    RegisterWorker(WorkerRegistration),
    TaskFinished {
        key: TaskKey,
        nbytes: u64,
        /// Microseconds the kernel ran (protocol version 2): feeds the scheduler's duration
        /// estimates.
        compute_micros: u64,
        /// Index of the executor thread that ran it (protocol version 3, for the dashboard's
        /// task stream).
        thread: u32,
        /// Microseconds of `compute_micros` spent reading inputs from the worker's spill
        /// directory (protocol version 3).
        input_read_micros: u64,
        /// Microseconds spent fetching its inputs from peers before it could run, and the
        /// bytes fetched (protocol version 3).
        transfer_micros: u64,
        transfer_bytes: u64,
    },
    TaskFailed {
        key: TaskKey,
        error: String,
    },
    DepsMissing {
        key: TaskKey,
        missing: Vec<TaskKey>,
    },
    StealReply {
        key: TaskKey,
        stolen: bool,
    },
    Heartbeat(WorkerMetrics),
    /// The worker's memory state changed. `paused`: send it no new task until it says
    /// otherwise (its memory is above the pause threshold). `disk_full`: it can no longer
    /// spill (its spill directory is full or `--max-spill` is reached).
    WorkerStatus {
        paused: bool,
        disk_full: bool,
    },

    // ---- scheduler -> worker / client
    /// Registration accepted; the id the scheduler gave the peer.
    Welcome {
        id: u32,
    },
    Compute(ComputeTask),
    Free {
        keys: Vec<TaskKey>,
    },
    Steal {
        key: TaskKey,
    },
    /// The receiver must stop (worker) or disconnect (client).
    Shutdown {
        reason: String,
    },

    // ---- client -> scheduler
    RegisterClient {
        name: String,
    },
    SubmitGraph {
        tasks: Vec<TaskSpec>,
        wanted: Vec<TaskKey>,
    },
    ReleaseKeys {
        keys: Vec<TaskKey>,
    },
    Cancel {
        keys: Vec<TaskKey>,
    },
    Locate {
        keys: Vec<TaskKey>,
    },
    /// The client put these keys (with sizes) on the worker at `address`.
    Scattered {
        address: String,
        keys: Vec<(TaskKey, u64)>,
    },
    /// Ask for a [`Message::Info`] reply.
    InfoRequest,
    /// Stop the scheduler and every worker.
    ShutdownCluster,

    // ---- scheduler -> client
    KeyReady {
        key: TaskKey,
        nbytes: u64,
        holders: Vec<String>,
    },
    KeyErred {
        key: TaskKey,
        root: TaskKey,
        error: String,
    },
    Located {
        key: TaskKey,
        holders: Vec<String>,
    },
    Info(ClusterInfo),

    // ---- data plane: peer worker or client <-> worker
    GetData {
        keys: Vec<TaskKey>,
    },
    Data {
        key: TaskKey,
        payload: PayloadIndex,
    },
    DataMissing {
        key: TaskKey,
    },
    PutData {
        key: TaskKey,
        payload: PayloadIndex,
    },
    PutDataAck {
        key: TaskKey,
        nbytes: u64,
    },

    // ---- graceful retirement (appended: older variants keep their wire numbers)
    /// Worker → scheduler: this worker is about to leave (walltime near); move its results.
    Retiring {
        reason: String,
    },
    /// Scheduler → worker: fetch `key` from the worker at `from` and keep it.
    Replicate {
        key: TaskKey,
        nbytes: u64,
        from: String,
    },
    /// Worker → scheduler: the copy asked for by `Replicate` is stored.
    ReplicaStored {
        key: TaskKey,
        nbytes: u64,
    },
    /// Worker → scheduler: the copy asked for by `Replicate` could not be fetched.
    ReplicaFailed {
        key: TaskKey,
    },
    /// Client → scheduler: retire these workers (by id) gracefully.
    RetireWorkers {
        workers: Vec<u32>,
    },

    // ---- job-queue manager control (see `cluster_control`)
    /// Client → manager.
    ClusterControl(super::cluster_control::ClusterRequest),
    /// Manager → client.
    ClusterControlReply(super::cluster_control::ClusterReply),

    // ---- memory residency (appended in protocol version 2)
    /// Worker → scheduler, batched: results of this worker that moved to its local disk
    /// (spilled) or back into its memory since the last such message.
    ResidencyChanged {
        to_disk: Vec<TaskKey>,
        to_memory: Vec<TaskKey>,
    },

    // ---- jobs of command tasks (appended in protocol version 3; see `job_control`)
    /// Client → scheduler.
    JobRequest(super::job_control::JobRequest),
    /// Scheduler → client.
    JobReply(super::job_control::JobReply),
    // ---- lost peers (appended in protocol version 3)
    /// Scheduler → workers: the worker with this data address was dropped (no heartbeat,
    /// disconnected). Fetches from it are cancelled and its connections closed; a task
    /// whose inputs were there reports them missing and the scheduler recomputes them.
    PeerGone {
        address: String,
    },
    /// Scheduler → clients: every worker has gone and none joined within the scheduler's
    /// `--no-workers-grace` while tasks wait; waits for results fail with `reason`.
    NoWorkers {
        reason: String,
    },
    /// Scheduler → clients: a worker joined after [`Message::NoWorkers`]; waits go on.
    WorkersBack,
}
