//! Everything the autoscaler is told, as plain data: targets set by the user, backlog samples
//! from the scheduler, job state changes from the batch system, submission outcomes.
//! Nothing here refers to processes or commands.

use std::time::Duration;

/// The driver's handle for one job (its own counter, not the batch system's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef(pub u64);

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Exactly this many workers (rounded up to whole jobs).
    Workers(u32),
    /// Exactly this many jobs.
    Jobs(u32),
    /// Follow the backlog between these worker counts.
    Adaptive {
        /// Fewest workers kept, even when idle.
        minimum: u32,
        /// Most workers ever asked for.
        maximum: u32,
    },
}

/// The scheduler's load, sampled by the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BacklogSample {
    /// Tasks whose inputs are all in memory, waiting for a worker slot.
    pub ready: u64,
    /// Tasks sent to workers and not finished.
    pub processing: u64,
    /// Tasks waiting for inputs.
    pub waiting: u64,
    /// Connected workers.
    pub workers: u32,
    /// Their threads in total.
    pub threads: u32,
    /// Mean duration of recently finished tasks, when known.
    pub mean_task_duration: Option<Duration>,
    /// CPUs requested by the ready and processing tasks together (a command task asking for
    /// `--cpus 4` counts 4); 0 when not reported, then every task counts as one CPU.
    pub requested_cpus: u64,
}

/// Where a job is, as far as the autoscaler cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobPhase {
    /// In the batch queue.
    Pending,
    /// Running (its workers are starting or connected).
    Running,
    /// Running, and at least one of its workers connected to the scheduler.
    Connected,
    /// Gone from the queue (finished, cancelled, or ended without saying how).
    Gone,
    /// Ended with an error (non-zero exit, node failure, out of memory).
    Failed,
}

/// An input to [`Autoscaler::handle`](super::Autoscaler::handle).
#[derive(Clone, Debug, PartialEq)]
pub enum AutoscaleEvent {
    /// The user set a target (`scale N`, `adapt`). Resets the failure count.
    SetTarget(Target),
    /// A fresh backlog sample.
    Backlog(BacklogSample),
    /// One job of an [`AutoscaleAction::Submit`](super::AutoscaleAction::Submit) was accepted.
    Submitted(JobRef),
    /// One submission was refused or could not run; `message` is the batch system's own text.
    SubmitFailed {
        /// What went wrong, verbatim.
        message: String,
    },
    /// A job changed phase (from status polling or from its workers connecting).
    JobPhase(JobRef, JobPhase),
    /// Periodic: time for a decision if the interval has passed.
    Tick,
}
