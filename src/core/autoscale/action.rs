//! Everything the autoscaler asks its driver to do, as plain data.

use super::event::JobRef;

/// An output of the autoscaler, drained with
/// [`Autoscaler::drain_actions`](super::Autoscaler::drain_actions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoscaleAction {
    /// Submit this many jobs, reporting each outcome with
    /// [`AutoscaleEvent::Submitted`](super::AutoscaleEvent::Submitted) or
    /// [`AutoscaleEvent::SubmitFailed`](super::AutoscaleEvent::SubmitFailed).
    Submit {
        /// How many jobs.
        jobs: u32,
    },
    /// Cancel these queued jobs (they have no workers yet).
    Cancel {
        /// The jobs.
        jobs: Vec<JobRef>,
    },
    /// Retire the workers of these running jobs gracefully (hand their results to the other
    /// workers, then exit); the driver cancels a job whose workers do not leave in time.
    Retire {
        /// The jobs.
        jobs: Vec<JobRef>,
    },
    /// Something the user should know (rate-limited by the caller's logging).
    Warn(String),
    /// Submissions failed too often in a row: the autoscaler stopped submitting until a new
    /// target is set. The message quotes the last failure.
    GiveUp(String),
}
