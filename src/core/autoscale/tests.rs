//! Deterministic tests of the autoscaler on a virtual clock.

use std::time::{Duration, Instant};

use super::*;

struct Sim {
    scaler: Autoscaler,
    now: Instant,
    next_job: u64,
}

impl Sim {
    fn new(config: AutoscaleConfig) -> Self {
        Sim {
            scaler: Autoscaler::new(config),
            now: Instant::now(),
            next_job: 0,
        }
    }

    fn event(&mut self, event: AutoscaleEvent) -> Vec<AutoscaleAction> {
        self.scaler.handle(self.now, event);
        self.scaler.drain_actions().collect()
    }

    fn advance(&mut self, d: Duration) -> Vec<AutoscaleAction> {
        self.now += d;
        self.event(AutoscaleEvent::Tick)
    }

    /// Carry out submissions successfully; returns the new jobs.
    fn accept(&mut self, actions: &[AutoscaleAction]) -> Vec<JobRef> {
        let mut jobs = Vec::new();
        for a in actions {
            if let AutoscaleAction::Submit { jobs: n } = a {
                for _ in 0..*n {
                    self.next_job += 1;
                    let job = JobRef(self.next_job);
                    self.scaler.handle(self.now, AutoscaleEvent::Submitted(job));
                    jobs.push(job);
                }
            }
        }
        jobs
    }

    fn phase(&mut self, jobs: &[JobRef], phase: JobPhase) {
        for job in jobs {
            self.scaler
                .handle(self.now, AutoscaleEvent::JobPhase(*job, phase));
        }
    }

    fn backlog(&mut self, ready: u64, processing: u64, workers: u32) {
        self.backlog_cpus(ready, processing, workers, 0);
    }

    /// A backlog whose ready and processing tasks request `cpus` CPUs in all.
    fn backlog_cpus(&mut self, ready: u64, processing: u64, workers: u32, cpus: u64) {
        self.scaler.handle(
            self.now,
            AutoscaleEvent::Backlog(BacklogSample {
                ready,
                processing,
                waiting: 0,
                workers,
                threads: workers,
                mean_task_duration: Some(Duration::from_secs(1)),
                requested_cpus: cpus,
            }),
        );
    }
}

fn submitted(actions: &[AutoscaleAction]) -> u32 {
    actions
        .iter()
        .map(|a| match a {
            AutoscaleAction::Submit { jobs } => *jobs,
            _ => 0,
        })
        .sum()
}

#[test]
fn fixed_target_submits_rounds_up_to_jobs_and_cancels_queued_first() {
    let mut sim = Sim::new(AutoscaleConfig {
        workers_per_job: 2,
        max_pending_jobs: 10,
        ..AutoscaleConfig::default()
    });
    let actions = sim.event(AutoscaleEvent::SetTarget(Target::Workers(5)));
    assert_eq!(actions, vec![AutoscaleAction::Submit { jobs: 3 }]);
    let jobs = sim.accept(&actions);
    sim.phase(&jobs[..1], JobPhase::Connected);
    // Nothing more while the target is met.
    assert!(sim.advance(Duration::from_secs(5)).is_empty());
    let actions = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(0)));
    assert_eq!(
        actions,
        vec![
            AutoscaleAction::Cancel {
                jobs: vec![jobs[2], jobs[1]]
            },
            AutoscaleAction::Retire {
                jobs: vec![jobs[0]]
            },
        ]
    );
    let status = sim.scaler.status(sim.now);
    assert_eq!((status.leaving, status.pending, status.running), (3, 0, 0));
    // Jobs we asked to leave are no failures.
    sim.phase(&jobs, JobPhase::Gone);
    assert_eq!(sim.scaler.status(sim.now).consecutive_failures, 0);
}

#[test]
fn queued_jobs_are_capped() {
    let mut sim = Sim::new(AutoscaleConfig {
        max_pending_jobs: 2,
        ..AutoscaleConfig::default()
    });
    let actions = sim.event(AutoscaleEvent::SetTarget(Target::Workers(5)));
    assert_eq!(submitted(&actions), 2);
    let first = sim.accept(&actions);
    assert_eq!(
        submitted(&sim.advance(Duration::from_secs(2))),
        0,
        "queue full"
    );
    sim.phase(&first, JobPhase::Running);
    let actions = sim.advance(Duration::from_secs(2));
    assert_eq!(submitted(&actions), 2);
    let second = sim.accept(&actions);
    sim.phase(&second[..1], JobPhase::Running);
    assert_eq!(submitted(&sim.advance(Duration::from_secs(2))), 1);
}

#[test]
fn failures_back_off_exponentially_then_give_up() {
    let mut sim = Sim::new(AutoscaleConfig {
        backoff_initial: Duration::from_secs(2),
        backoff_max: Duration::from_secs(5),
        max_consecutive_failures: 3,
        interval: Duration::from_millis(500),
        ..AutoscaleConfig::default()
    });
    let actions = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)));
    assert_eq!(submitted(&actions), 1);
    let warn = sim.event(AutoscaleEvent::SubmitFailed {
        message: "sbatch: error: invalid partition".into(),
    });
    assert!(
        matches!(&warn[..], [AutoscaleAction::Warn(m)] if m.contains("invalid partition")),
        "{warn:?}"
    );
    // Back-off of 2 s: nothing at 1.5 s, a retry at 2 s.
    assert_eq!(submitted(&sim.advance(Duration::from_millis(1500))), 0);
    assert_eq!(submitted(&sim.advance(Duration::from_millis(500))), 1);
    sim.event(AutoscaleEvent::SubmitFailed {
        message: "again".into(),
    });
    // Second failure: 4 s.
    assert_eq!(submitted(&sim.advance(Duration::from_millis(3500))), 0);
    assert_eq!(submitted(&sim.advance(Duration::from_millis(500))), 1);
    let out = sim.event(AutoscaleEvent::SubmitFailed {
        message: "third".into(),
    });
    assert!(
        matches!(&out[..], [AutoscaleAction::GiveUp(m)] if m.contains("3 consecutive") && m.contains("third")),
        "{out:?}"
    );
    for _ in 0..20 {
        assert_eq!(submitted(&sim.advance(Duration::from_secs(10))), 0);
    }
    assert!(sim.scaler.status(sim.now).gave_up.is_some());
    // A new target starts over.
    assert_eq!(
        submitted(&sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)))),
        1
    );
}

#[test]
fn backoff_is_capped() {
    let mut sim = Sim::new(AutoscaleConfig {
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(3),
        max_consecutive_failures: 100,
        interval: Duration::from_millis(100),
        ..AutoscaleConfig::default()
    });
    sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)));
    for _ in 0..6 {
        sim.event(AutoscaleEvent::SubmitFailed {
            message: "x".into(),
        });
        let until = sim
            .scaler
            .status(sim.now)
            .backoff_until
            .expect("backing off");
        assert!(until - sim.now <= Duration::from_secs(3));
        sim.now = until;
        assert_eq!(submitted(&sim.event(AutoscaleEvent::Tick)), 1);
    }
}

#[test]
fn jobs_ending_before_any_worker_connects_count_as_failures() {
    let mut sim = Sim::new(AutoscaleConfig {
        max_consecutive_failures: 2,
        backoff_initial: Duration::from_secs(1),
        ..AutoscaleConfig::default()
    });
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)));
    let jobs = sim.accept(&a);
    sim.phase(&jobs, JobPhase::Running);
    sim.phase(&jobs, JobPhase::Failed);
    let a = sim.advance(Duration::from_secs(1));
    let jobs = sim.accept(&a);
    assert_eq!(jobs.len(), 1);
    sim.phase(&jobs, JobPhase::Gone);
    let out: Vec<_> = sim.scaler.drain_actions().collect();
    assert!(
        matches!(&out[..], [AutoscaleAction::GiveUp(m)] if m.contains("before any of its workers connected")),
        "{out:?}"
    );
    // A job whose workers connected and that then ended is replaced, not a failure.
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)));
    let jobs = sim.accept(&a);
    sim.phase(&jobs, JobPhase::Connected);
    sim.phase(&jobs, JobPhase::Gone);
    assert_eq!(sim.scaler.status(sim.now).consecutive_failures, 0);
    assert_eq!(submitted(&sim.advance(Duration::from_secs(1))), 1);
}

#[test]
fn adaptive_scales_up_at_once_and_down_after_wait_count() {
    let mut sim = Sim::new(AutoscaleConfig {
        threads_per_worker: 2,
        max_pending_jobs: 100,
        wait_count: 3,
        interval: Duration::from_secs(1),
        target_duration: Duration::from_secs(5),
        ..AutoscaleConfig::default()
    });
    sim.backlog(0, 0, 0);
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 1,
        maximum: 6,
    }));
    assert_eq!(submitted(&a), 1, "the minimum");
    let mut jobs = sim.accept(&a);
    sim.phase(&jobs, JobPhase::Connected);
    // 30 tasks of 1 s: 30 s of work / 5 s = 6 threads = 3 workers of 2 threads.
    sim.backlog(28, 2, 1);
    let a = sim.advance(Duration::from_secs(1));
    assert_eq!(submitted(&a), 2);
    jobs.extend(sim.accept(&a));
    sim.phase(&jobs, JobPhase::Connected);
    // A huge backlog is clamped to the maximum.
    sim.backlog(10_000, 6, 3);
    let a = sim.advance(Duration::from_secs(1));
    assert_eq!(submitted(&a), 3);
    jobs.extend(sim.accept(&a));
    sim.phase(&jobs, JobPhase::Connected);
    // Idle: two decisions keep everyone, the third retires down to the minimum.
    sim.backlog(0, 0, 6);
    assert!(sim.advance(Duration::from_secs(1)).is_empty());
    assert!(sim.advance(Duration::from_secs(1)).is_empty());
    let a = sim.advance(Duration::from_secs(1));
    match &a[..] {
        [AutoscaleAction::Retire { jobs: retired }] => {
            assert_eq!(retired.len(), 5);
            assert!(!retired.contains(&jobs[0]), "the oldest job stays");
        }
        other => panic!("expected a retirement, got {other:?}"),
    }
}

#[test]
fn adaptive_counts_the_cpus_tasks_request() {
    let config = AutoscaleConfig {
        threads_per_worker: 4,
        max_pending_jobs: 100,
        target_duration: Duration::from_secs(5),
        ..AutoscaleConfig::default()
    };
    // 10 tasks of 1 s asking for 4 CPUs each: 40 CPU-seconds / 5 s = 8 threads = 2 workers
    // of 4 threads; counted as tasks they would be 10 s of work, 2 threads, 1 worker.
    let mut sim = Sim::new(config.clone());
    sim.backlog_cpus(10, 0, 0, 40);
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 0,
        maximum: 10,
    }));
    assert_eq!(submitted(&a), 2);
    let mut sim = Sim::new(config.clone());
    sim.backlog_cpus(10, 0, 0, 0);
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 0,
        maximum: 10,
    }));
    assert_eq!(submitted(&a), 1, "unreported CPUs count one per task");
    // Two 16-CPU tasks of 1 s: at most 32 CPUs are useful even with a short target.
    let mut sim = Sim::new(AutoscaleConfig {
        target_duration: Duration::from_millis(100),
        ..config
    });
    sim.backlog_cpus(2, 0, 0, 32);
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 0,
        maximum: 100,
    }));
    assert_eq!(submitted(&a), 8, "32 CPUs = 8 workers of 4 threads");
}

#[test]
fn adaptive_down_votes_reset_when_work_returns() {
    let mut sim = Sim::new(AutoscaleConfig {
        wait_count: 2,
        max_pending_jobs: 10,
        ..AutoscaleConfig::default()
    });
    sim.backlog(20, 0, 0);
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 0,
        maximum: 2,
    }));
    assert_eq!(submitted(&a), 2);
    let jobs = sim.accept(&a);
    sim.phase(&jobs, JobPhase::Connected);
    sim.backlog(0, 0, 2);
    assert!(sim.advance(Duration::from_secs(1)).is_empty());
    sim.backlog(10, 2, 2);
    assert!(sim.advance(Duration::from_secs(1)).is_empty());
    sim.backlog(0, 0, 2);
    assert!(
        sim.advance(Duration::from_secs(1)).is_empty(),
        "count restarted"
    );
    let a = sim.advance(Duration::from_secs(1));
    assert!(
        matches!(&a[..], [AutoscaleAction::Retire { jobs }] if jobs.len() == 2),
        "{a:?}"
    );
}

#[test]
fn decisions_wait_for_the_interval() {
    let mut sim = Sim::new(AutoscaleConfig {
        interval: Duration::from_secs(10),
        max_pending_jobs: 10,
        ..AutoscaleConfig::default()
    });
    sim.backlog(0, 0, 0);
    sim.event(AutoscaleEvent::SetTarget(Target::Adaptive {
        minimum: 0,
        maximum: 4,
    }));
    sim.backlog(100, 0, 0);
    assert!(sim.advance(Duration::from_secs(9)).is_empty());
    assert_eq!(submitted(&sim.advance(Duration::from_secs(1))), 4);
}

#[test]
fn expiring_jobs_are_replaced_before_they_leave() {
    let mut sim = Sim::new(AutoscaleConfig {
        worker_lifetime: Some(Duration::from_secs(600)),
        replace_lead: Duration::from_secs(60),
        ..AutoscaleConfig::default()
    });
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(1)));
    let jobs = sim.accept(&a);
    sim.phase(&jobs, JobPhase::Connected);
    assert_eq!(submitted(&sim.advance(Duration::from_secs(500))), 0);
    // 540 s in: within the lead of the 600 s lifetime.
    let a = sim.advance(Duration::from_secs(40));
    assert_eq!(submitted(&a), 1);
    let new = sim.accept(&a);
    // The old job leaving on its own is no failure and needs no further replacement.
    sim.phase(&jobs, JobPhase::Gone);
    sim.phase(&new, JobPhase::Connected);
    assert_eq!(submitted(&sim.advance(Duration::from_secs(1))), 0);
    assert_eq!(sim.scaler.status(sim.now).consecutive_failures, 0);
}

#[test]
fn a_failed_batch_is_not_counted_as_in_flight() {
    let mut sim = Sim::new(AutoscaleConfig {
        max_pending_jobs: 10,
        backoff_initial: Duration::from_secs(1),
        ..AutoscaleConfig::default()
    });
    let a = sim.event(AutoscaleEvent::SetTarget(Target::Jobs(3)));
    assert_eq!(submitted(&a), 3);
    // The first job is accepted, the second refused: the driver stops the batch.
    sim.event(AutoscaleEvent::Submitted(JobRef(1)));
    sim.event(AutoscaleEvent::SubmitFailed {
        message: "busy".into(),
    });
    assert_eq!(submitted(&sim.advance(Duration::from_secs(1))), 2);
}
