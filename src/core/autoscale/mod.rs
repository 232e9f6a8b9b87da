//! Adaptive scaling for job queues as a pure state machine: `handle(now, event)`, then
//! `drain_actions()`.
//!
//! It keeps the user's [`Target`] (a fixed number of workers or jobs, or adaptive bounds), the
//! jobs it has asked for and their phases, and the last backlog sample of the scheduler, and
//! decides when to submit, cancel or retire jobs:
//!
//! - **fixed targets** are met at once: missing jobs are submitted, surplus jobs are cancelled
//!   while queued (newest first) and retired once running (newest first);
//! - **adaptive** asks for enough threads to clear the ready and processing tasks in about
//!   `target_duration` (mean observed task duration, or a default), counting the CPUs the
//!   tasks request (a 4-CPU command task needs 4 threads), clamped to the bounds;
//!   it scales up at once and down only after `wait_count` consecutive decisions agree;
//! - at most `max_pending_jobs` jobs wait in the batch queue at once;
//! - a failed submission, or a job that ends before any of its workers connected (whatever
//!   state the batch system reports), backs off
//!   exponentially (`backoff_initial` doubling up to `backoff_max`); after
//!   `max_consecutive_failures` in a row it gives up with the last error until a new target;
//! - a running job within `replace_lead` of the end of its workers' lifetime no longer counts,
//!   so its replacement is queued before it leaves.
//!
//! This module must not run commands, read the clock or sleep: the driver passes `now`,
//! carries out the [`AutoscaleAction`]s and reports back with [`AutoscaleEvent`]s.
//!
//! ```
//! use std::time::Instant;
//! use tessera::core::autoscale::*;
//!
//! let mut scaler = Autoscaler::new(AutoscaleConfig::default());
//! let now = Instant::now();
//! scaler.handle(now, AutoscaleEvent::SetTarget(Target::Workers(3)));
//! let actions: Vec<_> = scaler.drain_actions().collect();
//! assert_eq!(actions, vec![AutoscaleAction::Submit { jobs: 3 }]);
//! ```

mod action;
mod config;
mod event;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use action::AutoscaleAction;
pub use config::AutoscaleConfig;
pub use event::{AutoscaleEvent, BacklogSample, JobPhase, JobRef, Target};

/// One job the autoscaler asked for.
#[derive(Clone, Copy, Debug)]
struct TrackedJob {
    phase: JobPhase,
    /// When it was first seen running.
    running_since: Option<Instant>,
    /// Asked to go (cancelled or retired): no longer counts, and its end is no failure.
    leaving: bool,
}

/// What the autoscaler knows, for status displays.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleStatus {
    /// The current target.
    pub target: Target,
    /// The number of jobs the target comes to now.
    pub desired_jobs: u32,
    /// Jobs queued.
    pub pending: u32,
    /// Jobs running (including those whose workers connected).
    pub running: u32,
    /// Jobs cancelled or retired and not yet gone.
    pub leaving: u32,
    /// Consecutive failures (submissions, or jobs whose workers never connected).
    pub consecutive_failures: u32,
    /// No submission before this instant (back-off).
    pub backoff_until: Option<Instant>,
    /// Why submitting stopped, when it did.
    pub gave_up: Option<String>,
}

/// The autoscaler. See the module docs.
pub struct Autoscaler {
    config: AutoscaleConfig,
    target: Target,
    jobs: BTreeMap<JobRef, TrackedJob>,
    /// Jobs of the last `Submit` not yet reported.
    in_flight: u32,
    sample: Option<BacklogSample>,
    next_decision: Option<Instant>,
    /// Consecutive adaptive decisions that wanted fewer jobs.
    down_votes: u32,
    submit_failures: u32,
    job_failures: u32,
    backoff_until: Option<Instant>,
    gave_up: Option<String>,
    actions: Vec<AutoscaleAction>,
}

impl Autoscaler {
    /// An autoscaler with no jobs and a target of zero.
    pub fn new(config: AutoscaleConfig) -> Self {
        Autoscaler {
            config,
            target: Target::Jobs(0),
            jobs: BTreeMap::new(),
            in_flight: 0,
            sample: None,
            next_decision: None,
            down_votes: 0,
            submit_failures: 0,
            job_failures: 0,
            backoff_until: None,
            gave_up: None,
            actions: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AutoscaleConfig {
        &self.config
    }

    /// Feed one event. Actions accumulate until drained.
    pub fn handle(&mut self, now: Instant, event: AutoscaleEvent) {
        match event {
            AutoscaleEvent::SetTarget(target) => {
                self.target = target;
                self.down_votes = 0;
                self.submit_failures = 0;
                self.job_failures = 0;
                self.backoff_until = None;
                self.gave_up = None;
                self.decide(now);
            }
            AutoscaleEvent::Backlog(sample) => self.sample = Some(sample),
            AutoscaleEvent::Submitted(job) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.submit_failures = 0;
                self.jobs.insert(
                    job,
                    TrackedJob {
                        phase: JobPhase::Pending,
                        running_since: None,
                        leaving: false,
                    },
                );
            }
            AutoscaleEvent::SubmitFailed { message } => {
                // The driver stops a batch at its first failure: the rest were not submitted.
                self.in_flight = 0;
                self.submit_failures += 1;
                self.failed(
                    now,
                    self.submit_failures,
                    format!("submission failed: {message}"),
                );
            }
            AutoscaleEvent::JobPhase(job, phase) => self.on_job_phase(now, job, phase),
            AutoscaleEvent::Tick => {
                if self.next_decision.is_none_or(|t| now >= t) {
                    self.decide(now);
                }
            }
        }
    }

    /// Take the actions produced so far, in order.
    pub fn drain_actions(&mut self) -> std::vec::Drain<'_, AutoscaleAction> {
        self.actions.drain(..)
    }

    /// The current target.
    pub fn target(&self) -> Target {
        self.target
    }

    /// Counts and back-off state.
    pub fn status(&self, now: Instant) -> AutoscaleStatus {
        let mut status = AutoscaleStatus {
            target: self.target,
            desired_jobs: self.desired_jobs(),
            pending: 0,
            running: 0,
            leaving: 0,
            consecutive_failures: self.submit_failures.max(self.job_failures),
            backoff_until: self.backoff_until.filter(|t| *t > now),
            gave_up: self.gave_up.clone(),
        };
        for job in self.jobs.values() {
            if job.leaving {
                status.leaving += 1;
            } else if job.phase == JobPhase::Pending {
                status.pending += 1;
            } else {
                status.running += 1;
            }
        }
        status
    }

    fn on_job_phase(&mut self, now: Instant, job: JobRef, phase: JobPhase) {
        let Some(tracked) = self.jobs.get_mut(&job) else {
            return;
        };
        match phase {
            JobPhase::Pending => tracked.phase = JobPhase::Pending,
            JobPhase::Running | JobPhase::Connected => {
                if tracked.running_since.is_none() {
                    tracked.running_since = Some(now);
                }
                if phase == JobPhase::Connected {
                    self.job_failures = 0;
                    tracked.phase = JobPhase::Connected;
                } else if tracked.phase != JobPhase::Connected {
                    tracked.phase = JobPhase::Running;
                }
            }
            JobPhase::Gone | JobPhase::Failed => {
                let was = *tracked;
                self.jobs.remove(&job);
                let never_connected = was.phase != JobPhase::Connected;
                if !was.leaving && never_connected {
                    self.job_failures += 1;
                    self.failed(
                        now,
                        self.job_failures,
                        format!(
                            "job {} ended before any of its workers connected (see its log file)",
                            job.0
                        ),
                    );
                }
                // A job that left on its own is replaced at the next decision.
            }
        }
    }

    fn failed(&mut self, now: Instant, count: u32, message: String) {
        let exponent = count.saturating_sub(1).min(20);
        let delay = self
            .config
            .backoff_initial
            .saturating_mul(1u32 << exponent)
            .min(self.config.backoff_max);
        self.backoff_until = Some(now + delay);
        if count >= self.config.max_consecutive_failures {
            let text = format!(
                "stopped submitting after {count} consecutive failures; the last: {message}"
            );
            if self.gave_up.is_none() {
                self.actions.push(AutoscaleAction::GiveUp(text.clone()));
            }
            self.gave_up = Some(text);
        } else {
            self.actions.push(AutoscaleAction::Warn(format!(
                "{message}; retrying in {:.0?}",
                delay
            )));
        }
    }

    /// Workers the backlog asks for (adaptive mode), before clamping.
    fn workers_for_backlog(&self) -> Option<u32> {
        let sample = self.sample?;
        let tasks = sample.ready + sample.processing;
        if tasks == 0 {
            return Some(if sample.waiting > 0 {
                sample.workers
            } else {
                0
            });
        }
        let duration = sample
            .mean_task_duration
            .filter(|d| !d.is_zero())
            .unwrap_or(self.config.default_task_duration);
        let target = self.config.target_duration.max(Duration::from_millis(1));
        // CPUs, not tasks, are what workers provide: a 4-CPU task occupies 4 threads.
        let cpus = sample.requested_cpus.max(tasks);
        let work = duration.as_secs_f64() * cpus as f64;
        let threads = (work / target.as_secs_f64()).ceil().clamp(1.0, cpus as f64);
        let per_worker = f64::from(self.config.threads_per_worker.max(1));
        Some((threads / per_worker).ceil().min(f64::from(u32::MAX)) as u32)
    }

    fn jobs_for_workers(&self, workers: u32) -> u32 {
        workers.div_ceil(self.config.workers_per_job.max(1))
    }

    fn desired_jobs(&self) -> u32 {
        match self.target {
            Target::Jobs(n) => n,
            Target::Workers(n) => self.jobs_for_workers(n),
            Target::Adaptive { minimum, maximum } => {
                let current = self.counted_jobs_now() * self.config.workers_per_job.max(1);
                let wanted = self.workers_for_backlog().unwrap_or(current);
                self.jobs_for_workers(wanted.clamp(minimum, maximum.max(minimum)))
            }
        }
    }

    fn counted_jobs_now(&self) -> u32 {
        self.jobs.values().filter(|j| !j.leaving).count() as u32 + self.in_flight
    }

    fn expiring(&self, job: &TrackedJob, now: Instant) -> bool {
        match (job.running_since, self.config.worker_lifetime) {
            (Some(since), Some(lifetime)) => {
                // Short lifetimes: replace half-way at the latest, not at once.
                let lead = self.config.replace_lead.min(lifetime / 2);
                now + lead >= since + lifetime
            }
            _ => false,
        }
    }

    fn decide(&mut self, now: Instant) {
        self.next_decision = Some(now + self.config.interval);
        let desired = self.desired_jobs();
        let live: Vec<(JobRef, JobPhase)> = self
            .jobs
            .iter()
            .filter(|(_, j)| !j.leaving && !self.expiring(j, now))
            .map(|(r, j)| (*r, j.phase))
            .collect();
        let counted = live.len() as u32 + self.in_flight;
        if desired > counted {
            self.down_votes = 0;
            self.scale_up(now, desired - counted);
        } else if desired < counted {
            let adaptive = matches!(self.target, Target::Adaptive { .. });
            if adaptive {
                self.down_votes += 1;
                if self.down_votes < self.config.wait_count.max(1) {
                    return;
                }
            }
            self.down_votes = 0;
            self.scale_down(&live, counted - desired);
        } else {
            self.down_votes = 0;
        }
    }

    fn scale_up(&mut self, now: Instant, missing: u32) {
        if self.gave_up.is_some() || self.backoff_until.is_some_and(|t| now < t) {
            return;
        }
        let pending = self
            .jobs
            .values()
            .filter(|j| !j.leaving && j.phase == JobPhase::Pending)
            .count() as u32
            + self.in_flight;
        let room = self.config.max_pending_jobs.max(1).saturating_sub(pending);
        let jobs = missing.min(room);
        if jobs > 0 {
            self.in_flight += jobs;
            self.actions.push(AutoscaleAction::Submit { jobs });
        }
    }

    fn scale_down(&mut self, live: &[(JobRef, JobPhase)], surplus: u32) {
        let mut surplus = surplus as usize;
        let mut cancel = Vec::new();
        let mut retire = Vec::new();
        // Newest first: queued jobs cost nothing to drop, young workers hold the least.
        for (job, phase) in live.iter().rev() {
            if surplus == 0 {
                break;
            }
            if *phase == JobPhase::Pending {
                cancel.push(*job);
                surplus -= 1;
            }
        }
        for (job, phase) in live.iter().rev() {
            if surplus == 0 {
                break;
            }
            if *phase != JobPhase::Pending {
                retire.push(*job);
                surplus -= 1;
            }
        }
        for job in cancel.iter().chain(&retire) {
            if let Some(tracked) = self.jobs.get_mut(job) {
                tracked.leaving = true;
            }
        }
        if !cancel.is_empty() {
            self.actions.push(AutoscaleAction::Cancel { jobs: cancel });
        }
        if !retire.is_empty() {
            self.actions.push(AutoscaleAction::Retire { jobs: retire });
        }
    }
}
