//! The job-queue manager's control messages: what `tessera jobqueue status|scale|adapt|down`
//! and the `JobQueueCluster` library ask the manager that owns a cluster's batch jobs, and
//! what it answers. Carried in [`Message::ClusterControl`](super::Message::ClusterControl) and
//! [`Message::ClusterControlReply`](super::Message::ClusterControlReply) over an authenticated
//! connection to the manager's control address (the `jobqueue` service of the scheduler file).
//!
//! Plain data; this module must not know how jobs are submitted.

use serde::{Deserialize, Serialize};

/// How many workers the manager should keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScaleTarget {
    /// Exactly this many workers (rounded up to whole jobs).
    Workers(u32),
    /// Exactly this many jobs.
    Jobs(u32),
    /// Enough workers for this many cores (threads) in all: ⌈cores / threads per worker⌉
    /// workers, as dask-jobqueue's `scale(cores=…)`.
    Cores(u32),
    /// Enough workers for this many bytes of worker memory in all: ⌈bytes / memory per
    /// worker⌉ workers, as dask-jobqueue's `scale(memory=…)`.
    Memory(u64),
    /// Follow the scheduler's backlog between these worker counts.
    Adaptive {
        /// Fewest workers, even when idle.
        minimum: u32,
        /// Most workers.
        maximum: u32,
    },
}

/// A request to the manager.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterRequest {
    /// Report jobs, workers and the target.
    Status,
    /// Set a new target.
    Scale(ScaleTarget),
    /// Cancel every job, stop the scheduler and exit.
    Down,
    /// This connection owns the cluster: when every owning connection has closed (the owner
    /// exited or was killed), the manager shuts the cluster down as for `Down`.
    Attach,
}

/// One job as the manager sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLine {
    /// The batch system's job id.
    pub id: String,
    /// pending, running, connected, leaving.
    pub state: String,
    /// Its workers connected to the scheduler now.
    pub workers: u32,
    /// Seconds since submission.
    pub age_secs: u64,
}

/// The manager's answer to [`ClusterRequest::Status`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Batch system name (`slurm`, `pbs`, ...).
    pub system: String,
    /// Where workers and clients connect.
    pub scheduler_address: String,
    /// The manager's process id and host.
    pub manager_pid: u32,
    /// The manager's host.
    pub manager_host: String,
    /// Where job scripts and logs are written.
    pub job_directory: String,
    /// The target, as set.
    pub target: ScaleTarget,
    /// Jobs the target comes to now.
    pub desired_jobs: u32,
    /// Jobs tracked, oldest first.
    pub jobs: Vec<JobLine>,
    /// Workers connected to the scheduler.
    pub workers: u32,
    /// Their threads.
    pub threads: u32,
    /// Tasks by state at the scheduler (ready, processing, waiting, memory).
    pub tasks: Vec<(String, u64)>,
    /// Jobs submitted since start.
    pub submitted_total: u64,
    /// Consecutive failures (submissions, or jobs whose workers never connected).
    pub consecutive_failures: u32,
    /// Why submitting stopped, if it did.
    pub gave_up: Option<String>,
    /// The last warnings (newest last).
    pub messages: Vec<String>,
}

/// The manager's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClusterReply {
    /// The status.
    Status(Box<ClusterStatus>),
    /// Done.
    Ok,
    /// The request could not be carried out.
    Error(String),
}
