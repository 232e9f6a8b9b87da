//! Tests of graceful retirement, driving the core with events as a driver would.

use std::time::Instant;

use super::{Action, Event, Scheduler, SchedulerConfig, TaskStatus};
use crate::core::task::{ClientId, WorkerId};

use super::test_graphs::{key, task};

struct Harness {
    core: Scheduler,
    now: Instant,
}

impl Harness {
    fn new(workers: &[u32]) -> Self {
        let mut h = Harness {
            core: Scheduler::new(SchedulerConfig {
                saturation: 1.0,
                ..SchedulerConfig::default()
            }),
            now: Instant::now(),
        };
        for &w in workers {
            h.event(Event::WorkerJoined {
                worker: WorkerId(w),
                nthreads: 1,
                memory_limit: None,
                lifetime: None,
                generic: Vec::new(),
            });
        }
        h.event(Event::ClientJoined {
            client: ClientId(1),
        });
        h
    }

    fn event(&mut self, e: Event) -> Vec<Action> {
        self.core.handle(self.now, e);
        self.core.drain_actions().collect()
    }

    fn finish(&mut self, worker: u32, k: &str) -> Vec<Action> {
        self.event(Event::TaskFinished {
            worker: WorkerId(worker),
            key: key(k),
            nbytes: 8,
            compute: None,
        })
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

#[test]
fn retiring_worker_hands_over_its_only_copies_then_is_closed() {
    let mut h = Harness::new(&[1, 2]);
    let a = h.event(Event::GraphSubmitted {
        client: ClientId(1),
        tasks: vec![task("a", &[]), task("b", &[])],
        wanted: vec![key("a"), key("b")],
    });
    let placed = computes(&a);
    assert_eq!(placed.len(), 2);
    for (w, k) in &placed {
        h.finish(*w, k);
    }
    let on_1 = placed.iter().find(|(w, _)| *w == 1).map(|(_, k)| k.clone());
    let on_1 = on_1.expect("one task ran on worker 1");
    let a = h.event(Event::WorkerRetiring {
        worker: WorkerId(1),
    });
    assert_eq!(
        a,
        vec![Action::Replicate {
            worker: WorkerId(2),
            key: key(&on_1),
            nbytes: 8,
            from: WorkerId(1),
        }]
    );
    let a = h.event(Event::ReplicaStored {
        worker: WorkerId(2),
        key: key(&on_1),
    });
    assert_eq!(
        a,
        vec![Action::CloseWorker {
            worker: WorkerId(1)
        }]
    );
    assert_eq!(h.core.who_has(&key(&on_1)), &[WorkerId(1), WorkerId(2)]);
    // The worker leaves: nothing is lost, nothing recomputed.
    let a = h.event(Event::WorkerLeft {
        worker: WorkerId(1),
    });
    assert!(computes(&a).is_empty(), "{a:?}");
    assert_eq!(h.core.task_status(&key(&on_1)), Some(TaskStatus::Memory));
    assert_eq!(h.core.who_has(&key(&on_1)), &[WorkerId(2)]);
}

#[test]
fn retiring_worker_gets_no_new_tasks_and_gives_back_queued_ones() {
    // Two threads at saturation 1: two tasks in flight, one running, one queued (the worker
    // decides which; the core only asks).
    let mut h = Harness::new(&[]);
    h.event(Event::WorkerJoined {
        worker: WorkerId(1),
        nthreads: 2,
        memory_limit: None,
        lifetime: None,
        generic: Vec::new(),
    });
    let a = h.event(Event::GraphSubmitted {
        client: ClientId(1),
        tasks: vec![task("x", &[]), task("y", &[]), task("z", &[])],
        wanted: vec![key("x"), key("y"), key("z")],
    });
    assert_eq!(computes(&a).len(), 2);
    let a = h.event(Event::WorkerRetiring {
        worker: WorkerId(1),
    });
    let steals: Vec<_> = a
        .iter()
        .filter(|x| matches!(x, Action::Steal { .. }))
        .collect();
    assert_eq!(steals.len(), 2, "{a:?}");
    // One had started, one had not.
    let stolen_key = match steals[0] {
        Action::Steal { key, .. } => key.clone(),
        _ => unreachable!(),
    };
    let running_key = match steals[1] {
        Action::Steal { key, .. } => key.clone(),
        _ => unreachable!(),
    };
    let a = h.event(Event::StealReply {
        worker: WorkerId(1),
        key: stolen_key.clone(),
        stolen: true,
    });
    assert!(computes(&a).is_empty(), "nobody else to run it: {a:?}");
    h.event(Event::StealReply {
        worker: WorkerId(1),
        key: running_key.clone(),
        stolen: false,
    });
    // A newcomer takes the queued work, never the retiring worker.
    let a = h.event(Event::WorkerJoined {
        worker: WorkerId(2),
        nthreads: 2,
        memory_limit: None,
        lifetime: None,
        generic: Vec::new(),
    });
    let placed = computes(&a);
    assert!(placed.iter().all(|(w, _)| *w == 2), "{placed:?}");
    assert_eq!(placed.len(), 2);
    // The running task finishes on the retiring worker: its result is copied away, then close.
    let a = h.finish(1, running_key.as_str());
    assert!(
        a.contains(&Action::Replicate {
            worker: WorkerId(2),
            key: running_key.clone(),
            nbytes: 8,
            from: WorkerId(1),
        }),
        "{a:?}"
    );
    assert!(!a.iter().any(|x| matches!(x, Action::CloseWorker { .. })));
    let a = h.event(Event::ReplicaFailed {
        worker: WorkerId(2),
        key: running_key.clone(),
    });
    // A failed copy is asked for again.
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::Replicate { key, .. } if *key == running_key)),
        "{a:?}"
    );
    let a = h.event(Event::ReplicaStored {
        worker: WorkerId(2),
        key: running_key.clone(),
    });
    assert_eq!(
        a,
        vec![Action::CloseWorker {
            worker: WorkerId(1)
        }]
    );
}

#[test]
fn last_worker_retiring_is_closed_when_idle() {
    let mut h = Harness::new(&[1]);
    let a = h.event(Event::GraphSubmitted {
        client: ClientId(1),
        tasks: vec![task("a", &[])],
        wanted: vec![key("a")],
    });
    assert_eq!(computes(&a), vec![(1, "a".to_owned())]);
    h.finish(1, "a");
    let a = h.event(Event::WorkerRetiring {
        worker: WorkerId(1),
    });
    assert_eq!(
        a,
        vec![Action::CloseWorker {
            worker: WorkerId(1)
        }]
    );
    // Leaving loses the only copy: it is recomputed once a worker exists.
    h.event(Event::WorkerLeft {
        worker: WorkerId(1),
    });
    let a = h.event(Event::WorkerJoined {
        worker: WorkerId(3),
        nthreads: 1,
        memory_limit: None,
        lifetime: None,
        generic: Vec::new(),
    });
    assert_eq!(computes(&a), vec![(3, "a".to_owned())]);
}

#[test]
fn target_leaving_mid_copy_gets_the_copy_redone_elsewhere() {
    let mut h = Harness::new(&[1, 2, 3]);
    let a = h.event(Event::GraphSubmitted {
        client: ClientId(1),
        tasks: vec![task("a", &[])],
        wanted: vec![key("a")],
    });
    let (w, _) = computes(&a)[0].clone();
    h.finish(w, "a");
    let a = h.event(Event::WorkerRetiring {
        worker: WorkerId(w),
    });
    let target = match &a[..] {
        [Action::Replicate { worker, .. }] => *worker,
        other => panic!("{other:?}"),
    };
    let a = h.event(Event::WorkerLeft { worker: target });
    let again = a.iter().find_map(|x| match x {
        Action::Replicate { worker, from, .. } => Some((*worker, *from)),
        _ => None,
    });
    let (new_target, from) = again.expect("copy asked again");
    assert_ne!(new_target, target);
    assert_eq!(from, WorkerId(w));
}
