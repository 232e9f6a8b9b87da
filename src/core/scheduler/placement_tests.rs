//! Tests of placement with walltime (workers whose job ends) and spilled inputs, driving the
//! core with events and a fake clock as a driver would.

use std::time::{Duration, Instant};

use super::{Action, Event, Scheduler, SchedulerConfig};
use crate::core::task::{ClientId, TaskKey, TaskSpec, WorkerId};

use super::test_graphs::{key, task};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

struct Harness {
    core: Scheduler,
    now: Instant,
}

impl Harness {
    /// One client, no workers; one task per thread at a time.
    fn new() -> Self {
        Harness::with_saturation(1.0)
    }

    fn with_saturation(saturation: f64) -> Self {
        let mut h = Harness {
            core: Scheduler::new(SchedulerConfig {
                saturation,
                walltime_margin: secs(2),
                ..SchedulerConfig::default()
            }),
            now: Instant::now(),
        };
        h.event(Event::ClientJoined {
            client: ClientId(1),
        });
        h
    }

    fn event(&mut self, e: Event) -> Vec<Action> {
        self.core.handle(self.now, e);
        self.core.drain_actions().collect()
    }

    fn join(&mut self, worker: u32, lifetime: Option<Duration>) -> Vec<Action> {
        self.event(Event::WorkerJoined {
            worker: WorkerId(worker),
            nthreads: 1,
            memory_limit: None,
            lifetime,
            generic: Vec::new(),
        })
    }

    fn submit(&mut self, tasks: Vec<TaskSpec>) -> Vec<Action> {
        let wanted = tasks.iter().map(|t| t.key.clone()).collect();
        self.event(Event::GraphSubmitted {
            client: ClientId(1),
            tasks,
            wanted,
        })
    }

    fn finish(
        &mut self,
        worker: u32,
        k: &str,
        nbytes: u64,
        compute: Option<Duration>,
    ) -> Vec<Action> {
        self.event(Event::TaskFinished {
            worker: WorkerId(worker),
            key: key(k),
            nbytes,
            compute,
        })
    }

    /// Teach the scheduler that tasks of `k`'s prefix take `took` (a run reported by `worker`).
    fn observe(&mut self, worker: u32, k: &str, took: Duration) {
        self.finish(worker, k, 8, Some(took));
    }

    fn spill(&mut self, worker: u32, keys: &[&str]) {
        self.event(Event::ResidencyChanged {
            worker: WorkerId(worker),
            to_disk: keys.iter().map(|k| key(k)).collect(),
            to_memory: Vec::new(),
        });
    }
}

fn computes(actions: &[Action]) -> Vec<(u32, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Compute { worker, key, .. } => Some((worker.0, key.as_str().to_owned())),
            _ => None,
        })
        .collect()
}

fn workers_of(actions: &[Action]) -> Vec<u32> {
    computes(actions).into_iter().map(|(w, _)| w).collect()
}

// ---- walltime

#[test]
fn task_known_to_be_long_avoids_the_worker_about_to_end() {
    let mut h = Harness::new();
    h.join(1, Some(secs(10)));
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    // Worker 1 is the least loaded and has the lower id: it would take the first task.
    let a = h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    assert_eq!(computes(&a), vec![(2, "slow-1".to_owned())]);
    // slow-2 waits for worker 2 rather than running on worker 1.
    let a = h.finish(2, "slow-1", 8, Some(secs(30)));
    assert_eq!(computes(&a), vec![(2, "slow-2".to_owned())]);
    assert_eq!(h.core.worker_occupancy(WorkerId(1)), Some((0, 1)));
}

#[test]
fn requested_cpus_counts_ready_and_processing_tasks_by_their_request() {
    let mut h = Harness::new();
    let mut tasks: Vec<TaskSpec> = (0..3)
        .map(|i| {
            task(&format!("big-{i}"), &[])
                .with_resources(crate::core::resources::ResourceRequest::cpus(4))
        })
        .collect();
    tasks.push(task("small", &[]));
    h.submit(tasks);
    assert_eq!(
        h.core.requested_cpus(),
        13,
        "no worker: all four wait, ready"
    );
    h.event(Event::WorkerJoined {
        worker: WorkerId(1),
        nthreads: 4,
        memory_limit: None,
        lifetime: None,
        generic: Vec::new(),
    });
    let snap = h.core.snapshot();
    assert!(snap.processing > 0, "{snap:?}");
    assert_eq!(snap.ready + snap.processing, 4, "{snap:?}");
    assert_eq!(h.core.requested_cpus(), 13, "processing tasks still count");
}

#[test]
fn requested_cpus_of_default_requests_are_the_ready_and_processing_counts() {
    let mut h = Harness::new();
    h.submit((0..5).map(|i| task(&format!("t-{i}"), &[])).collect());
    assert_eq!(h.core.requested_cpus(), 5, "no worker: all five ready");
    h.event(Event::WorkerJoined {
        worker: WorkerId(1),
        nthreads: 2,
        memory_limit: None,
        lifetime: None,
        generic: Vec::new(),
    });
    let snap = h.core.snapshot();
    assert_eq!(
        h.core.requested_cpus(),
        (snap.ready + snap.processing) as u64,
        "{snap:?}"
    );
    assert_eq!(h.core.requested_cpus(), 5);
}

#[test]
fn declared_duration_keeps_a_task_off_the_worker_about_to_end() {
    let mut h = Harness::new();
    h.join(1, Some(secs(10)));
    h.join(2, Some(secs(3600)));
    // Nothing observed for the prefix: only the declared 30 s (`--time-request 30s`) tells.
    let long = |k: &str| {
        let mut r = crate::core::resources::ResourceRequest::cpus(1);
        r.time_request = Some(secs(30));
        task(k, &[]).with_resources(r)
    };
    let a = h.submit(vec![long("cmd-1"), long("cmd-2"), task("short-1", &[])]);
    let mut placed = computes(&a);
    placed.sort();
    assert_eq!(
        placed,
        vec![(1, "short-1".to_owned()), (2, "cmd-1".to_owned())],
        "the undeclared task may use worker 1; the declared ones wait for worker 2"
    );
    let a = h.finish(1, "short-1", 8, None);
    assert!(computes(&a).is_empty(), "{a:?}");
    let a = h.finish(2, "cmd-1", 8, None);
    assert_eq!(computes(&a), vec![(2, "cmd-2".to_owned())]);
}

#[test]
fn worker_about_to_end_takes_tasks_it_has_time_for_from_deeper_in_the_queue() {
    let mut h = Harness::new();
    h.join(1, Some(secs(10)));
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    h.observe(2, "quick-0", secs(1));
    // Priorities follow submission order: slow-1, slow-2, then quick-1 and an unknown task.
    let a = h.submit(vec![
        task("slow-1", &[]),
        task("slow-2", &[]),
        task("quick-1", &[]),
        task("unknown-1", &[]),
    ]);
    let mut placed = computes(&a);
    placed.sort();
    assert_eq!(
        placed,
        vec![(1, "quick-1".to_owned()), (2, "slow-1".to_owned())]
    );
    // Next free slot on worker 1: the task of unknown duration, not slow-2.
    let a = h.finish(1, "quick-1", 8, Some(secs(1)));
    assert_eq!(computes(&a), vec![(1, "unknown-1".to_owned())]);
}

#[test]
fn unknown_durations_are_placed_as_before() {
    let mut h = Harness::new();
    h.join(1, Some(secs(1)));
    h.join(2, None);
    // An estimate of another prefix does not matter.
    h.observe(2, "slow-0", secs(30));
    let a = h.submit(vec![task("new-1", &[]), task("new-2", &[])]);
    let mut placed = workers_of(&a);
    placed.sort();
    assert_eq!(placed, vec![1, 2]);
}

#[test]
fn without_any_worker_that_has_time_tasks_are_still_placed() {
    let mut h = Harness::new();
    h.join(1, Some(secs(10)));
    h.join(3, Some(secs(20)));
    h.observe(3, "slow-0", secs(30));
    let a = h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    let mut placed = workers_of(&a);
    placed.sort();
    assert_eq!(placed, vec![1, 3]);
}

#[test]
fn remaining_time_shrinks_with_the_clock() {
    let mut h = Harness::new();
    h.join(1, Some(secs(100)));
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    // At the start worker 1 has time for a 30 s task.
    let a = h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    let mut placed = workers_of(&a);
    placed.sort();
    assert_eq!(placed, vec![1, 2]);
    // 80 s later it has 20 s left: the next one waits for worker 2.
    h.now += secs(80);
    h.submit(vec![task("slow-3", &[]), task("slow-4", &[])]);
    let a = h.finish(1, "slow-1", 8, Some(secs(30)));
    assert!(computes(&a).is_empty(), "{a:?}");
    let a = h.finish(2, "slow-2", 8, Some(secs(30)));
    assert_eq!(computes(&a), vec![(2, "slow-3".to_owned())]);
}

#[test]
fn ending_worker_does_not_steal_long_tasks() {
    let mut h = Harness::with_saturation(2.0);
    h.join(1, Some(secs(10)));
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    let a = h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    // Both on worker 2 (one queued behind the other), none on worker 1.
    assert_eq!(workers_of(&a), vec![2, 2]);
    assert_eq!(h.core.worker_occupancy(WorkerId(2)), Some((2, 2)));
    let a = h.event(Event::Tick);
    assert!(
        !a.iter().any(|x| matches!(x, Action::Steal { .. })),
        "{a:?}"
    );
}

#[test]
fn long_task_taken_back_from_the_last_long_lived_worker_still_runs() {
    let mut h = Harness::with_saturation(2.0);
    h.join(1, Some(secs(10)));
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    // Worker 2 retires: its queued task comes back, and only worker 1 (ending) is left.
    let a = h.event(Event::WorkerRetiring {
        worker: WorkerId(2),
    });
    let steals: Vec<TaskKey> = a
        .iter()
        .filter_map(|x| match x {
            Action::Steal { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steals.len(), 2, "{a:?}");
    let a = h.event(Event::StealReply {
        worker: WorkerId(2),
        key: steals[1].clone(),
        stolen: true,
    });
    assert_eq!(computes(&a), vec![(1, steals[1].as_str().to_owned())]);
}

#[test]
fn small_input_durations_are_learned_only_while_some_worker_has_an_end() {
    let mut h = Harness::new();
    h.join(2, None);
    h.observe(2, "slow-0", secs(30));
    h.join(1, Some(secs(10)));
    // Nothing was learned before worker 1 joined (slow-0 had no big inputs): slow tasks
    // count as unknown.
    let a = h.submit(vec![task("slow-1", &[]), task("slow-2", &[])]);
    let mut placed = workers_of(&a);
    placed.sort();
    assert_eq!(placed, vec![1, 2]);
}

// ---- spilled inputs

/// `a` (100 bytes) computed on worker 1 and copied to worker 2.
fn input_on_both_workers() -> Harness {
    let mut h = Harness::new();
    h.join(1, None);
    h.join(2, None);
    let a = h.submit(vec![task("a", &[])]);
    assert_eq!(computes(&a), vec![(1, "a".to_owned())]);
    h.finish(1, "a", 100, None);
    h.finish(2, "a", 100, None);
    assert_eq!(h.core.who_has(&key("a")), &[WorkerId(1), WorkerId(2)]);
    h
}

#[test]
fn task_goes_to_the_worker_holding_its_input_in_memory() {
    let mut h = input_on_both_workers();
    h.spill(1, &["a"]);
    let a = h.submit(vec![task("b", &["a"])]);
    assert_eq!(computes(&a), vec![(2, "b".to_owned())]);
}

#[test]
fn input_read_back_into_memory_counts_fully_again() {
    let mut h = input_on_both_workers();
    h.spill(1, &["a"]);
    h.event(Event::ResidencyChanged {
        worker: WorkerId(1),
        to_disk: Vec::new(),
        to_memory: vec![key("a")],
    });
    assert_eq!(h.core.spilled_results(), 0);
    // Equal bytes: the lower worker id wins, as without spilling.
    let a = h.submit(vec![task("b", &["a"])]);
    assert_eq!(computes(&a), vec![(1, "b".to_owned())]);
}

#[test]
fn spilled_input_still_beats_a_worker_holding_nothing() {
    let mut h = Harness::new();
    h.join(1, None);
    h.join(2, None);
    h.submit(vec![task("x", &[])]);
    h.finish(1, "x", 100, None);
    h.spill(1, &["x"]);
    // Worker 2 holds nothing; worker 1 holds x on disk.
    let a = h.submit(vec![task("y", &["x"])]);
    assert_eq!(computes(&a), vec![(1, "y".to_owned())]);
}

#[test]
fn spilled_bytes_count_half() {
    let mut h = Harness::new();
    h.join(1, None);
    h.join(2, None);
    let a = h.submit(vec![task("big", &[]), task("mid", &[])]);
    let mut placed = computes(&a);
    placed.sort();
    assert_eq!(placed, vec![(1, "big".to_owned()), (2, "mid".to_owned())]);
    h.finish(1, "big", 100, None);
    h.finish(2, "mid", 60, None);
    // In memory: 100 bytes on worker 1 beat 60 on worker 2.
    let a = h.submit(vec![task("both-1", &["big", "mid"])]);
    assert_eq!(computes(&a), vec![(1, "both-1".to_owned())]);
    h.finish(1, "both-1", 8, None);
    // 100 spilled bytes count as 50: worker 2's 60 in memory win.
    h.spill(1, &["big"]);
    let a = h.submit(vec![task("both-2", &["big", "mid"])]);
    assert_eq!(computes(&a), vec![(2, "both-2".to_owned())]);
}

#[test]
fn residency_reports_for_copies_not_held_are_ignored_and_dropped_copies_forgotten() {
    let mut h = input_on_both_workers();
    // Unknown key, unknown worker, and a worker not holding the key.
    h.spill(1, &["nope"]);
    h.spill(9, &["a"]);
    h.join(3, None);
    h.spill(3, &["a"]);
    assert_eq!(h.core.spilled_results(), 0);
    h.spill(1, &["a"]);
    assert_eq!(h.core.spilled_results(), 1);
    // The worker leaves: its spilled copy is forgotten with it.
    h.event(Event::WorkerLeft {
        worker: WorkerId(1),
    });
    assert_eq!(h.core.spilled_results(), 0);
}

// ---- inputs too big to move

const BIG: u64 = 160 << 20;

/// Worker 1 holds two big results `c0`, `c1` and runs one task; worker 2 holds nothing.
fn big_inputs_on_worker_1() -> Harness {
    let mut h = Harness::new();
    h.join(1, None);
    let a = h.submit(vec![task("c-0", &[]), task("c-1", &[])]);
    assert_eq!(computes(&a), vec![(1, "c-0".to_owned())]);
    let a = h.finish(1, "c-0", BIG, None);
    assert_eq!(computes(&a), vec![(1, "c-1".to_owned())]);
    h.finish(1, "c-1", BIG, None);
    h.join(2, None);
    h
}

#[test]
fn a_task_with_a_big_input_waits_for_its_holder_instead_of_moving_it() {
    let mut h = big_inputs_on_worker_1();
    // Worker 1 gets sum-0; worker 2 is free but would have to pull 160 MiB for sum-1.
    let a = h.submit(vec![task("sum-0", &["c-0"]), task("sum-1", &["c-1"])]);
    assert_eq!(computes(&a), vec![(1, "sum-0".to_owned())]);
    // Once worker 1 is free again, sum-1 goes there.
    let a = h.finish(1, "sum-0", 8, None);
    assert_eq!(computes(&a), vec![(1, "sum-1".to_owned())]);
}

#[test]
fn small_inputs_still_move_to_a_free_worker() {
    let mut h = Harness::new();
    h.join(1, None);
    h.submit(vec![task("c-0", &[]), task("c-1", &[])]);
    h.finish(1, "c-0", 1 << 20, None);
    h.finish(1, "c-1", 1 << 20, None);
    h.join(2, None);
    let a = h.submit(vec![task("sum-0", &["c-0"]), task("sum-1", &["c-1"])]);
    let mut placed = workers_of(&a);
    placed.sort();
    assert_eq!(placed, vec![1, 2]);
}

#[test]
fn a_big_input_moves_when_its_holder_is_paused() {
    let mut h = big_inputs_on_worker_1();
    h.event(Event::WorkerPaused {
        worker: WorkerId(1),
    });
    let a = h.submit(vec![task("sum-0", &["c-0"])]);
    assert_eq!(computes(&a), vec![(2, "sum-0".to_owned())]);
}

#[test]
fn a_big_input_moves_when_the_task_is_known_to_take_long_enough_to_pay_for_it() {
    let mut h = big_inputs_on_worker_1();
    // 160 MiB take about 0.16 s at the assumed 1 GiB/s: a 1 s task pays for the move. Durations
    // are learned while some worker has a known end (worker 3 here).
    h.join(3, Some(secs(3_600)));
    h.observe(1, "slow-9", secs(1));
    let a = h.submit(vec![task("sum-0", &["c-0"]), task("slow-1", &["c-1"])]);
    let mut placed = computes(&a);
    placed.sort();
    assert_eq!(placed[0], (1, "sum-0".to_owned()));
    assert!(
        placed[1].0 != 1 && placed[1].1 == "slow-1",
        "slow-1 moves off the busy holder: {placed:?}"
    );
}

#[test]
fn durations_of_big_input_tasks_are_learned_without_timed_workers() {
    let mut h = big_inputs_on_worker_1();
    // One run of a `work` task over a big input, 1 s: learned although no worker has an end.
    let a = h.submit(vec![task("work-0", &["c-0"])]);
    assert_eq!(computes(&a), vec![(1, "work-0".to_owned())]);
    h.finish(1, "work-0", 8, Some(secs(1)));
    // Worker 1 busy with sum-0; work-1's 160 MiB take ~0.16 s to move, it runs 1 s: it moves.
    let a = h.submit(vec![task("sum-0", &["c-0"]), task("work-1", &["c-1"])]);
    let mut placed = computes(&a);
    placed.sort();
    assert_eq!(
        placed,
        vec![(1, "sum-0".to_owned()), (2, "work-1".to_owned())],
        "{placed:?}"
    );
}

// ---- paused workers

#[test]
fn a_paused_one_thread_workers_queued_task_is_stolen_by_an_idle_worker() {
    // Worker 1 (one thread) gets the task, then pauses (memory high, disk full) before
    // starting it: its one task is all it holds, so it used to count as running and was never
    // asked back while worker 2 sat idle.
    let mut h = Harness::new();
    h.join(1, None);
    let a = h.submit(vec![task("a", &[])]);
    assert_eq!(computes(&a), vec![(1, "a".to_owned())]);
    h.event(Event::WorkerPaused {
        worker: WorkerId(1),
    });
    // A newcomer relieves it at once (or the next tick would).
    let mut a = h.join(2, None);
    a.extend(h.event(Event::Tick));
    let steals: Vec<(WorkerId, TaskKey)> = a
        .iter()
        .filter_map(|x| match x {
            Action::Steal { worker, key } => Some((*worker, key.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(steals, vec![(WorkerId(1), key("a"))], "{a:?}");
    let a = h.event(Event::StealReply {
        worker: WorkerId(1),
        key: key("a"),
        stolen: true,
    });
    assert_eq!(computes(&a), vec![(2, "a".to_owned())]);
}

#[test]
fn a_running_worker_with_one_task_per_thread_is_not_asked_back() {
    let mut h = Harness::new();
    h.join(1, None);
    h.submit(vec![task("a", &[])]);
    let mut a = h.join(2, None);
    a.extend(h.event(Event::Tick));
    assert!(
        !a.iter().any(|x| matches!(x, Action::Steal { .. })),
        "{a:?}"
    );
}
