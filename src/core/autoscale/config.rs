//! Tunables of the autoscaler: bounds, the queued-job cap, decision pacing and the submission
//! failure back-off. Plain data with defaults modelled on dask's `Adaptive`; this module must
//! not decide anything.

use std::time::Duration;

/// How the autoscaler paces itself and protects the batch queue.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleConfig {
    /// Workers one job starts (`nodes × processes`, at least 1).
    pub workers_per_job: u32,
    /// Threads of each worker (at least 1).
    pub threads_per_worker: u32,
    /// Jobs allowed to wait in the batch queue at once: the cap that keeps a slow queue from
    /// being flooded with submissions (default 4).
    pub max_pending_jobs: u32,
    /// Time between adaptive decisions (default 1 s).
    pub interval: Duration,
    /// Adaptive mode scales down only after this many consecutive decisions wanted fewer
    /// workers (default 3, like dask's `wait_count`).
    pub wait_count: u32,
    /// Adaptive mode asks for enough threads to clear the backlog in about this long
    /// (default 5 s, like dask's `target_duration`).
    pub target_duration: Duration,
    /// Assumed task duration until one is observed (default 0.5 s).
    pub default_task_duration: Duration,
    /// Delay before the next submission after a failed one; doubles with each further
    /// consecutive failure (default 2 s).
    pub backoff_initial: Duration,
    /// The longest back-off delay (default 60 s).
    pub backoff_max: Duration,
    /// After this many consecutive failed submissions the autoscaler stops submitting and
    /// reports [`AutoscaleAction::GiveUp`](super::AutoscaleAction::GiveUp) (default 5). A new
    /// target resets the count.
    pub max_consecutive_failures: u32,
    /// How long a job's workers live once it runs (their `--lifetime`); `None` when unknown.
    pub worker_lifetime: Option<Duration>,
    /// A running job this close to the end of its lifetime no longer counts towards the target,
    /// so its replacement is submitted in time (default 2 min; at most half the lifetime).
    pub replace_lead: Duration,
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            workers_per_job: 1,
            threads_per_worker: 1,
            max_pending_jobs: 4,
            interval: Duration::from_secs(1),
            wait_count: 3,
            target_duration: Duration::from_secs(5),
            default_task_duration: Duration::from_millis(500),
            backoff_initial: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            max_consecutive_failures: 5,
            worker_lifetime: None,
            replace_lead: Duration::from_secs(120),
        }
    }
}
