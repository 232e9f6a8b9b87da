//! Hand-written scenarios of specific scheduler transitions: placement, queuing, priorities,
//! stealing, recovery, failures, cancellation, clients. Each drives the public API with exact
//! events and checks the exact actions.

use std::time::Instant;

use tessera::core::scheduler::TaskStatus;
use tessera::core::{
    Action, ClientId, Event, Scheduler, SchedulerConfig, TaskKey, TaskSpec, WorkerId,
};

struct Harness {
    scheduler: Scheduler,
    now: Instant,
}

const C1: ClientId = ClientId(1);
const C2: ClientId = ClientId(2);
const W1: WorkerId = WorkerId(1);
const W2: WorkerId = WorkerId(2);
const W3: WorkerId = WorkerId(3);

impl Harness {
    fn new(saturation: f64, allowed_failures: u32) -> Self {
        let mut h = Harness {
            scheduler: Scheduler::new(SchedulerConfig {
                saturation,
                allowed_failures,
                // Fixed queue depths keep these scenarios exact.
                queue_horizon: std::time::Duration::ZERO,
                ..SchedulerConfig::default()
            }),
            now: Instant::now(),
        };
        h.ev(Event::ClientJoined { client: C1 });
        h.ev(Event::ClientJoined { client: C2 });
        h
    }

    fn ev(&mut self, event: Event) -> Vec<Action> {
        self.scheduler.handle(self.now, event);
        self.scheduler.drain_actions().collect()
    }

    fn worker(&mut self, worker: WorkerId, nthreads: u32) -> Vec<Action> {
        self.ev(Event::WorkerJoined {
            worker,
            nthreads,
            memory_limit: None,
            lifetime: None,
            generic: Vec::new(),
        })
    }

    fn submit(&mut self, client: ClientId, tasks: Vec<TaskSpec>, wanted: &[&str]) -> Vec<Action> {
        self.ev(Event::GraphSubmitted {
            client,
            tasks,
            wanted: wanted.iter().map(|k| key(k)).collect(),
        })
    }

    fn finish(&mut self, worker: WorkerId, k: &str, nbytes: u64) -> Vec<Action> {
        self.ev(Event::TaskFinished {
            worker,
            key: key(k),
            nbytes,
            compute: None,
        })
    }

    fn status(&self, k: &str) -> Option<TaskStatus> {
        self.scheduler.task_status(&key(k))
    }
}

fn key(k: &str) -> TaskKey {
    TaskKey::new(k)
}

fn spec(k: &str, deps: &[&str]) -> TaskSpec {
    TaskSpec::new(
        k,
        "kernel",
        Vec::new(),
        deps.iter().map(|d| key(d)).collect(),
    )
}

/// (worker, key, priority) of every Compute.
fn computes(actions: &[Action]) -> Vec<(WorkerId, String, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Compute {
                worker,
                key,
                priority,
                ..
            } => Some((*worker, key.to_string(), *priority)),
            _ => None,
        })
        .collect()
}

fn compute_keys(actions: &[Action]) -> Vec<String> {
    computes(actions).into_iter().map(|(_, k, _)| k).collect()
}

fn frees(actions: &[Action]) -> Vec<(WorkerId, Vec<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Free { worker, keys } => {
                Some((*worker, keys.iter().map(|k| k.to_string()).collect()))
            }
            _ => None,
        })
        .collect()
}

fn ready_keys(actions: &[Action], client: ClientId) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::KeyReady { client: c, key, .. } if *c == client => Some(key.to_string()),
            _ => None,
        })
        .collect()
}

fn erred(actions: &[Action]) -> Vec<(ClientId, String, String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::KeyErred {
                client,
                key,
                root,
                message,
            } => Some((*client, key.to_string(), root.to_string(), message.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn locality_picks_the_worker_holding_most_input_bytes() {
    let mut h = Harness::new(2.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    h.ev(Event::DataScattered {
        client: C1,
        worker: W1,
        keys: vec![(key("small"), 10)],
    });
    h.ev(Event::DataScattered {
        client: C1,
        worker: W2,
        keys: vec![(key("big"), 1_000_000)],
    });
    let actions = h.submit(C1, vec![spec("use", &["small", "big"])], &["use"]);
    assert_eq!(computes(&actions)[0].0, W2, "{actions:?}");
    // The Compute names where each input is.
    match &actions[0] {
        Action::Compute { deps, .. } => {
            assert_eq!(deps.len(), 2);
            assert_eq!(deps[0].key, key("small"));
            assert_eq!(deps[0].holders, vec![W1]);
            assert_eq!(deps[1].holders, vec![W2]);
        }
        other => panic!("expected Compute, got {other:?}"),
    }
}

#[test]
fn tasks_without_inputs_go_to_the_least_loaded_worker() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 2);
    h.worker(W2, 2);
    let actions = h.submit(
        C1,
        vec![spec("a", &[]), spec("b", &[]), spec("c", &[])],
        &["a", "b", "c"],
    );
    let placed: Vec<WorkerId> = computes(&actions).iter().map(|c| c.0).collect();
    // a → W1 (tie, lowest id), b → W2 (now least loaded), c → W1.
    assert_eq!(placed, vec![W1, W2, W1]);
}

#[test]
fn saturation_queues_tasks_at_the_scheduler_best_priority_first() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 2);
    let tasks = (0..5).map(|i| spec(&format!("t{i}"), &[])).collect();
    let wanted = ["t0", "t1", "t2", "t3", "t4"];
    let actions = h.submit(C1, tasks, &wanted);
    assert_eq!(compute_keys(&actions), ["t0", "t1"]);
    assert_eq!(h.scheduler.snapshot().ready, 3);
    assert_eq!(h.scheduler.worker_occupancy(W1), Some((2, 2)));
    let actions = h.finish(W1, "t1", 8);
    assert_eq!(ready_keys(&actions, C1), ["t1"]);
    assert_eq!(compute_keys(&actions), ["t2"]);
}

#[test]
fn priorities_follow_depth_first_graph_order_and_graph_submission_order() {
    let mut h = Harness::new(100.0, 3);
    h.worker(W1, 1);
    let tasks = vec![
        spec("root", &["s01", "s23"]),
        spec("a3", &[]),
        spec("a2", &[]),
        spec("s23", &["a2", "a3"]),
        spec("a1", &[]),
        spec("a0", &[]),
        spec("s01", &["a0", "a1"]),
    ];
    let actions = h.submit(C1, tasks, &["root"]);
    let mut leaves = computes(&actions);
    leaves.sort_by_key(|c| c.2);
    let order: Vec<&str> = leaves.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(order, ["a0", "a1", "a2", "a3"]);
    // The partial sum s01 must come before leaf a2: its priority is between a1's and a2's.
    let p = |k: &str| {
        leaves
            .iter()
            .find(|c| c.1 == k)
            .map(|c| c.2)
            .unwrap_or(u64::MAX)
    };
    h.finish(W1, "a0", 1);
    let actions = h.finish(W1, "a1", 1);
    let s01 = computes(&actions);
    assert_eq!(s01.len(), 1);
    assert!(
        p("a1") < s01[0].2 && s01[0].2 < p("a2"),
        "{s01:?} {leaves:?}"
    );
    // A later graph runs after everything of the earlier one.
    let actions = h.submit(C2, vec![spec("later", &[])], &["later"]);
    // root is numbered right after s23, which follows a3.
    assert_eq!(computes(&actions)[0].2, p("a3") + 3);
}

#[test]
fn steal_moves_a_queued_task_to_an_idle_worker() {
    let mut h = Harness::new(3.0, 3);
    h.worker(W1, 1);
    let actions = h.submit(
        C1,
        vec![spec("a", &[]), spec("b", &[]), spec("c", &[])],
        &["a", "b", "c"],
    );
    assert_eq!(compute_keys(&actions), ["a", "b", "c"]);
    // W2 joins: nothing is ready, W1 has two tasks beyond its single thread.
    let actions = h.worker(W2, 1);
    let steals: Vec<(WorkerId, String)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Steal { worker, key } => Some((*worker, key.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        steals,
        vec![(W1, "c".to_string())],
        "least urgent task first"
    );
    // Refused: it stays on W1.
    h.ev(Event::StealReply {
        worker: W1,
        key: key("c"),
        stolen: false,
    });
    assert_eq!(h.status("c"), Some(TaskStatus::Processing(W1)));
    // Asked again on Tick; granted this time: it goes to W2.
    let actions = h.ev(Event::Tick);
    assert!(actions.contains(&Action::Steal {
        worker: W1,
        key: key("c")
    }));
    let actions = h.ev(Event::StealReply {
        worker: W1,
        key: key("c"),
        stolen: true,
    });
    assert_eq!(
        computes(&actions).iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![W2]
    );
    assert_eq!(h.status("c"), Some(TaskStatus::Processing(W2)));
    assert_eq!(h.scheduler.worker_occupancy(W1), Some((2, 3)));
    // The victim finishes it anyway (raced): first result wins, the thief's copy is cancelled.
    let actions = h.finish(W1, "c", 5);
    assert_eq!(ready_keys(&actions, C1), ["c"]);
    assert_eq!(frees(&actions), vec![(W2, vec!["c".to_string()])]);
    assert_eq!(h.scheduler.who_has(&key("c")), &[W1]);
    // A result the thief sent before our Free reached it is stale (the Free drops it there):
    // it must not be recorded as a replica.
    assert!(h.finish(W2, "c", 5).is_empty());
    assert_eq!(h.scheduler.who_has(&key("c")), &[W1]);
    assert_eq!(h.scheduler.snapshot().memory, 1);
    // A genuine extra copy (a later report from a worker not told to drop it) is a replica.
    h.finish(W2, "c", 5);
    assert_eq!(h.scheduler.who_has(&key("c")), &[W1, W2]);
}

#[test]
fn killed_worker_after_allowed_failures() {
    let mut h = Harness::new(1.0, 2);
    h.worker(W1, 1);
    h.worker(W2, 1);
    h.worker(W3, 1);
    let actions = h.submit(C1, vec![spec("crash", &[])], &["crash"]);
    assert_eq!(computes(&actions)[0].0, W1);
    let actions = h.ev(Event::WorkerLeft { worker: W1 });
    assert_eq!(computes(&actions)[0].0, W2, "re-run after the first death");
    let actions = h.ev(Event::WorkerLeft { worker: W2 });
    assert!(computes(&actions).is_empty());
    let errors = erred(&actions);
    assert_eq!(errors.len(), 1, "{actions:?}");
    assert_eq!(errors[0].1, "crash");
    assert!(
        errors[0].3.contains("2 times (KilledWorker)"),
        "{}",
        errors[0].3
    );
    // A late result from a dead worker is ignored.
    assert!(h.finish(W1, "crash", 1).is_empty());
    assert_eq!(h.status("crash"), Some(TaskStatus::Erred));
}

#[test]
fn lost_result_is_recomputed_when_needed_and_released_when_not() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    let tasks = vec![
        spec("x", &[]),
        spec("y", &["x"]),
        spec("z", &["y"]),
        spec("other", &[]),
    ];
    let actions = h.submit(C1, tasks, &["z", "other"]);
    assert_eq!(
        computes(&actions),
        vec![(W1, "x".into(), 0), (W2, "other".into(), 3)]
    );
    let actions = h.finish(W1, "x", 10);
    assert_eq!(
        computes(&actions),
        vec![(W1, "y".into(), 1)],
        "y follows its input"
    );
    let actions = h.finish(W1, "y", 10);
    // x is not needed once y is in memory.
    assert_eq!(frees(&actions), vec![(W1, vec!["x".to_string()])]);
    assert_eq!(computes(&actions), vec![(W1, "z".into(), 2)]);
    h.finish(W2, "other", 10);
    // W2 dies with "other", still wanted: recomputed, queued until a slot frees.
    let actions = h.ev(Event::WorkerLeft { worker: W2 });
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(h.status("other"), Some(TaskStatus::Ready));
    let actions = h.worker(W3, 1);
    assert_eq!(computes(&actions), vec![(W3, "other".into(), 3)]);
    // Released while recomputing: cancelled and forgotten.
    let actions = h.ev(Event::KeysReleased {
        client: C1,
        keys: vec![key("other")],
    });
    assert_eq!(frees(&actions), vec![(W3, vec!["other".to_string()])]);
    assert_eq!(h.status("other"), None);
    let actions = h.finish(W1, "z", 1);
    assert_eq!(ready_keys(&actions, C1), ["z"]);
    assert_eq!(frees(&actions), vec![(W1, vec!["y".to_string()])]);
    h.ev(Event::ClientLeft { client: C1 });
    assert_eq!(h.scheduler.snapshot().total_tasks, 0);
}

#[test]
fn worker_death_recomputes_lost_inputs_recursively() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    let tasks = vec![
        spec("a", &[]),
        spec("b", &["a"]),
        spec("c", &["b"]),
        spec("d", &["c", "b"]),
    ];
    h.submit(C1, tasks, &["d"]);
    h.finish(W1, "a", 1);
    h.finish(W1, "b", 1);
    let actions = h.finish(W1, "c", 1);
    assert_eq!(compute_keys(&actions), ["d"]);
    // a was freed (b done); b and c are held on W1 for d. W1 dies; W2 joins later.
    let actions = h.ev(Event::WorkerLeft { worker: W1 });
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(h.status("d"), Some(TaskStatus::Waiting));
    assert_eq!(h.status("a"), Some(TaskStatus::Ready));
    let actions = h.worker(W2, 1);
    assert_eq!(compute_keys(&actions), ["a"]);
    assert_eq!(compute_keys(&h.finish(W2, "a", 1)), ["b"]);
    assert_eq!(compute_keys(&h.finish(W2, "b", 1)), ["c"]);
    assert_eq!(compute_keys(&h.finish(W2, "c", 1)), ["d"]);
    let actions = h.finish(W2, "d", 1);
    assert_eq!(ready_keys(&actions, C1), ["d"]);
    // Only d is kept.
    assert_eq!(h.scheduler.snapshot().memory, 1);
}

#[test]
fn cancel_stops_computation_nobody_else_needs() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 2);
    let actions = h.submit(C1, vec![spec("a", &[]), spec("b", &["a"])], &["b"]);
    assert_eq!(compute_keys(&actions), ["a"]);
    h.submit(C2, vec![spec("shared", &[])], &["shared"]);
    h.submit(C1, vec![spec("shared", &[])], &["shared"]);
    let actions = h.ev(Event::CancelRequested {
        client: C1,
        keys: vec![key("b"), key("shared")],
    });
    // b and its input a are cancelled; "shared" is still wanted by C2.
    assert_eq!(frees(&actions), vec![(W1, vec!["a".to_string()])]);
    assert_eq!(h.status("b"), None);
    assert_eq!(h.status("a"), None);
    assert_eq!(h.status("shared"), Some(TaskStatus::Processing(W1)));
    // A result of the cancelled task arriving late is freed.
    let actions = h.finish(W1, "a", 3);
    assert_eq!(frees(&actions), vec![(W1, vec!["a".to_string()])]);
    let actions = h.finish(W1, "shared", 3);
    assert_eq!(ready_keys(&actions, C2), ["shared"]);
    assert!(ready_keys(&actions, C1).is_empty());
    h.ev(Event::ClientLeft { client: C2 });
    assert_eq!(h.scheduler.snapshot().total_tasks, 0);
}

#[test]
fn deps_missing_drops_the_replica_and_recomputes_the_input() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    let actions = h.submit(C1, vec![spec("a", &[]), spec("b", &["a"])], &["b"]);
    assert_eq!(computes(&actions)[0].0, W1);
    let actions = h.finish(W1, "a", 100);
    assert_eq!(computes(&actions)[0].0, W1, "b follows its input");
    // Pretend b went to W2 instead: have W1 busy. Simplest: W1 reports it cannot fetch a.
    let actions = h.ev(Event::DepsMissing {
        worker: W1,
        key: key("b"),
        missing: vec![key("a")],
    });
    assert_eq!(frees(&actions), vec![(W1, vec!["a".to_string()])]);
    assert_eq!(compute_keys(&actions), ["a"]);
    assert_eq!(h.status("b"), Some(TaskStatus::Waiting));
    let on = computes(&actions)[0].0;
    let actions = h.finish(on, "a", 100);
    assert_eq!(compute_keys(&actions), ["b"]);
}

#[test]
fn failure_errs_dependents_once_per_client_with_the_root() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    let tasks = vec![spec("a", &[]), spec("b", &["a"]), spec("c", &["b"])];
    h.submit(C1, tasks.clone(), &["c", "b"]);
    h.submit(C2, tasks, &["c"]);
    let actions = h.ev(Event::TaskFailed {
        worker: W1,
        key: key("a"),
        message: "division by zero".into(),
    });
    let mut errors = erred(&actions);
    errors.sort();
    assert_eq!(
        errors,
        vec![
            (C1, "b".into(), "a".into(), "division by zero".into()),
            (C1, "c".into(), "a".into(), "division by zero".into()),
            (C2, "c".into(), "a".into(), "division by zero".into()),
        ]
    );
    // Submitting a dependent of an erred key errs at once, naming the same root.
    let actions = h.submit(C2, vec![spec("d", &["b"])], &["d"]);
    assert_eq!(
        erred(&actions),
        vec![(C2, "d".into(), "a".into(), "division by zero".into())]
    );
    h.ev(Event::ClientLeft { client: C1 });
    h.ev(Event::ClientLeft { client: C2 });
    assert_eq!(h.scheduler.snapshot().total_tasks, 0);
}

#[test]
fn unknown_dependency_cycle_and_unknown_wanted_key_err_without_panicking() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    let actions = h.submit(
        C1,
        vec![spec("x", &["ghost"]), spec("p", &["q"]), spec("q", &["p"])],
        &["x", "p", "nowhere"],
    );
    assert!(computes(&actions).is_empty());
    let errors = erred(&actions);
    assert_eq!(errors.len(), 3, "{errors:?}");
    let x = errors.iter().find(|e| e.1 == "x").expect("x errs");
    assert!(x.3.contains("ghost"), "{}", x.3);
    let p = errors.iter().find(|e| e.1 == "p").expect("p errs");
    assert!(p.3.contains("cycle"), "{}", p.3);
    let n = errors
        .iter()
        .find(|e| e.1 == "nowhere")
        .expect("nowhere errs");
    assert!(n.3.contains("nowhere"), "{}", n.3);
    h.ev(Event::ClientLeft { client: C1 });
    assert_eq!(h.scheduler.snapshot().total_tasks, 0);
}

#[test]
fn known_keys_are_reused_not_recomputed() {
    let mut h = Harness::new(10.0, 3);
    h.worker(W1, 1);
    h.submit(C1, vec![spec("a", &[])], &["a"]);
    h.finish(W1, "a", 4);
    // C2 submits a again (same key): reported at once, no Compute.
    let actions = h.submit(C2, vec![spec("a", &[])], &["a"]);
    assert!(computes(&actions).is_empty());
    assert_eq!(ready_keys(&actions, C2), ["a"]);
    // A graph may refer to a known key without including it.
    let actions = h.submit(C2, vec![spec("b", &["a"])], &["b"]);
    assert_eq!(compute_keys(&actions), ["b"]);
    let actions = h.submit(C2, vec![spec("again", &[])], &["again", "again"]);
    assert_eq!(
        compute_keys(&actions),
        ["again"],
        "duplicates in wanted count once"
    );
}

#[test]
fn locate_answers_now_or_when_the_key_lands_again() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    h.submit(C1, vec![spec("a", &[])], &["a"]);
    h.finish(W1, "a", 4);
    let actions = h.ev(Event::LocateRequested {
        client: C1,
        keys: vec![key("a")],
    });
    assert_eq!(
        actions,
        vec![Action::Located {
            client: C1,
            key: key("a"),
            holders: vec![W1]
        }]
    );
    // The holder dies: a is recomputed on W2; the locate is answered when it lands.
    let actions = h.ev(Event::WorkerLeft { worker: W1 });
    assert_eq!(computes(&actions), vec![(W2, "a".to_string(), 0)]);
    let actions = h.ev(Event::LocateRequested {
        client: C1,
        keys: vec![key("a")],
    });
    assert!(actions.is_empty());
    let actions = h.finish(W2, "a", 4);
    assert_eq!(
        actions,
        vec![Action::Located {
            client: C1,
            key: key("a"),
            holders: vec![W2]
        }],
        "no second KeyReady"
    );
}

#[test]
fn scattered_data_is_ready_at_once_and_lost_scatter_errs() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    let actions = h.ev(Event::DataScattered {
        client: C1,
        worker: W1,
        keys: vec![(key("s"), 64)],
    });
    assert_eq!(ready_keys(&actions, C1), ["s"]);
    assert_eq!(h.scheduler.who_has(&key("s")), &[W1]);
    let actions = h.submit(C1, vec![spec("use", &["s"])], &["use"]);
    assert_eq!(computes(&actions), vec![(W1, "use".to_string(), 1)]);
    // Data scattered to a worker that left errs for the client instead of hanging.
    let actions = h.ev(Event::DataScattered {
        client: C1,
        worker: WorkerId(99),
        keys: vec![(key("t"), 1)],
    });
    assert_eq!(erred(&actions).len(), 1);
    // The only copy of s is lost while `use` still needs it: it cannot be recomputed.
    let actions = h.ev(Event::WorkerLeft { worker: W1 });
    // s itself was already reported ready (once per key and client): only `use` errs.
    let errors = erred(&actions);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].1.as_str(), errors[0].2.as_str()), ("use", "s"));
    assert!(errors[0].3.contains("scattered"), "{}", errors[0].3);
    assert_eq!(h.status("s"), Some(TaskStatus::Erred));
}

#[test]
fn events_from_unknown_workers_and_clients_are_ignored() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    let ghost = WorkerId(42);
    assert!(h.finish(ghost, "x", 1).is_empty());
    assert!(h
        .ev(Event::TaskFailed {
            worker: ghost,
            key: key("x"),
            message: String::new()
        })
        .is_empty());
    assert!(h
        .ev(Event::StealReply {
            worker: ghost,
            key: key("x"),
            stolen: true
        })
        .is_empty());
    assert!(h.ev(Event::WorkerLeft { worker: ghost }).is_empty());
    assert!(h
        .submit(ClientId(77), vec![spec("x", &[])], &["x"])
        .is_empty());
    // A result for a key nobody knows is freed on the (known) worker that holds it.
    assert_eq!(
        frees(&h.finish(W1, "x", 1)),
        vec![(W1, vec!["x".to_string()])]
    );
    assert_eq!(h.scheduler.snapshot().total_tasks, 0);
    assert_eq!(h.scheduler.snapshot().workers, 1);
}

/// Drive one worker that finishes each task `step` after the previous one; returns its
/// capacity after `rounds` completions.
fn adaptive_capacity_after(step: std::time::Duration, rounds: usize) -> usize {
    let mut h = Harness {
        scheduler: Scheduler::new(SchedulerConfig {
            saturation: 1.0,
            allowed_failures: 3,
            queue_horizon: std::time::Duration::from_millis(10),
            max_saturation: 8.0,
            ..SchedulerConfig::default()
        }),
        now: Instant::now(),
    };
    h.ev(Event::ClientJoined { client: C1 });
    h.worker(W1, 1);
    let names: Vec<String> = (0..rounds + 20).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tasks = refs.iter().map(|k| spec(k, &[])).collect();
    let mut in_flight: std::collections::VecDeque<String> =
        compute_keys(&h.submit(C1, tasks, &refs)).into();
    for _ in 0..rounds {
        h.now += step;
        let done = in_flight.pop_front().expect("the worker always has work");
        let actions = h.finish(W1, &done, 8);
        in_flight.extend(compute_keys(&actions));
        let (inflight, capacity) = h.scheduler.worker_occupancy(W1).unwrap();
        assert!(inflight <= capacity);
        assert_eq!(inflight, in_flight.len());
    }
    h.scheduler.worker_occupancy(W1).unwrap().1
}

#[test]
fn fast_workers_get_deeper_queues_and_slow_ones_keep_the_base_depth() {
    // 10k tasks/s × 10 ms horizon = 100, capped at 8 per thread.
    assert_eq!(
        adaptive_capacity_after(std::time::Duration::from_micros(100), 400),
        8
    );
    // 50 tasks/s × 10 ms < 1: the base depth of 1 stays.
    assert_eq!(
        adaptive_capacity_after(std::time::Duration::from_millis(20), 10),
        1
    );
}

#[test]
fn a_paused_worker_gets_no_new_task_until_it_resumes() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    assert!(h.ev(Event::WorkerPaused { worker: W1 }).is_empty());
    let a = h.submit(
        C1,
        vec![spec("a", &[]), spec("b", &[]), spec("c", &[])],
        &["a", "b", "c"],
    );
    let sent = computes(&a);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, W2);
    let a = h.finish(W2, &sent[0].1, 8);
    let sent = computes(&a);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, W2, "W1 is still paused");
    let a = h.ev(Event::WorkerResumed { worker: W1 });
    let sent = computes(&a);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].0, W1,
        "a resumed worker takes the waiting task at once"
    );
    assert_eq!(h.status(&sent[0].1), Some(TaskStatus::Processing(W1)));
}

#[test]
fn a_task_whose_input_is_on_a_paused_worker_runs_elsewhere() {
    let mut h = Harness::new(1.0, 3);
    h.worker(W1, 1);
    h.worker(W2, 1);
    let a = h.submit(C1, vec![spec("x", &[])], &["x"]);
    assert_eq!(computes(&a)[0].0, W1);
    h.finish(W1, "x", 1 << 20);
    h.ev(Event::WorkerPaused { worker: W1 });
    let a = h.submit(C1, vec![spec("y", &["x"])], &["y"]);
    assert_eq!(compute_keys(&a), vec!["y".to_string()]);
    assert_eq!(computes(&a)[0].0, W2, "the holder of x is paused");
    // Pausing twice or resuming an unknown worker changes nothing.
    assert!(h.ev(Event::WorkerPaused { worker: W1 }).is_empty());
    assert!(h.ev(Event::WorkerResumed { worker: W3 }).is_empty());
}
