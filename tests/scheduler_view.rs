//! The scheduler's published view (what the dashboard, `tessera top` and reports read): a
//! real local cluster computing while readers poll the view.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::naps::{nap_graph, register_nap};
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::scheduler_view::{SchedulerView, SchedulerViewReader, TASK_EVENTS_KEPT};
use tessera::runtime::Value;

const NAP: &str = "scheduler-view-test.nap";

/// Poll the view until `ok` holds (at most 30 s); the last view read.
fn wait_for(view: &SchedulerViewReader, ok: impl Fn(&SchedulerView) -> bool) -> Arc<SchedulerView> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = view.latest();
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the view never showed it; last: {v:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_view_shows_workers_progress_per_prefix_and_the_task_stream() {
    register_nap(NAP, 20);
    let cluster = LocalCluster::start(LocalClusterConfig::new(2, 2)).unwrap();
    let view = cluster.view().unwrap();
    // A reader is looking from the start (per-prefix counts are kept while someone looks).
    assert!(view.latest().info.workers.len() <= 2);
    let client = cluster.client().unwrap();
    // 200 naps of 20 ms on 4 threads: about a second of work.
    let (tasks, total) = nap_graph(NAP, 200);
    let futures = client.submit_graph(tasks, &[total]).unwrap();

    // While it runs: both workers, nap tasks being processed, total waiting for them.
    let running = wait_for(&view, |v| {
        v.prefixes
            .iter()
            .any(|p| p.prefix == "nap" && p.processing > 0 && p.done > 0)
            && v.tasks_per_second > 0.0
    });
    assert_eq!(running.info.workers.len(), 2);
    assert_eq!(running.loads.len(), 2);
    let total_row = running
        .prefixes
        .iter()
        .find(|p| p.prefix == "total")
        .unwrap();
    assert_eq!(total_row.waiting, 1, "{running:#?}");
    for w in &running.info.workers {
        assert_eq!(w.nthreads, 2);
        assert_eq!(
            w.memory_thresholds.pause,
            Some(0.8),
            "defaults are reported"
        );
    }

    let out = futures[0].result().unwrap();
    assert_eq!(i64::decode(&out).unwrap(), 201);
    let done = wait_for(&view, |v| {
        v.prefixes
            .iter()
            .any(|p| p.prefix == "total" && p.done == 1)
    });
    let nap = done.prefixes.iter().find(|p| p.prefix == "nap").unwrap();
    assert_eq!(nap.done, 200);
    assert!(nap.compute_secs >= 200.0 * 0.019, "{nap:?}");

    let (events, next) = view.task_events_since(0, 1000);
    assert_eq!(events.len(), 201, "{events:#?}");
    assert_eq!(next, 201);
    let lanes: BTreeSet<(u32, u32)> = events.iter().map(|e| (e.worker, e.thread)).collect();
    assert!(
        lanes.iter().all(|(_, t)| *t < 2),
        "executor threads 0 and 1: {lanes:?}"
    );
    let worker_ids: BTreeSet<u32> = done.info.workers.iter().map(|w| w.id).collect();
    assert!(lanes.iter().all(|(w, _)| worker_ids.contains(w)));
    for e in &events {
        assert!(e.end_ms >= e.start_ms + 19.0, "a nap lasts 20 ms: {e:?}");
        assert!(!e.erred);
    }
    assert_eq!(events.iter().filter(|e| &*e.prefix == "nap").count(), 200);
    let total = events.last().unwrap();
    assert_eq!(&*total.key, "total-0");
    // Half its 200 inputs were on the other worker: fetched before it ran.
    assert!(total.transfer_bytes >= 8 * 50, "{total:?}");
    assert!(total.transfer_ms > 0.0, "{total:?}");
    let total_row = done.prefixes.iter().find(|p| p.prefix == "total").unwrap();
    assert!(total_row.transfer_secs > 0.0, "{total_row:?}");
    // Asking again from `next` gives nothing new.
    assert!(view.task_events_since(next, 1000).0.is_empty());
}

#[test]
fn readers_polling_all_the_time_neither_stall_the_scheduler_nor_grow_the_rings() {
    let cluster = LocalCluster::start(LocalClusterConfig::new(2, 1)).unwrap();
    let view = cluster.view().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (view, stop) = (view.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let v = view.latest();
                    let (events, _) = view.task_events_since(0, usize::MAX);
                    assert!(events.len() <= TASK_EVENTS_KEPT);
                    assert!(v.info.workers.len() <= 2);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let client = cluster.client().unwrap();
    // 2 × 16384 leaves: more results than the task ring keeps.
    let n = 16_384usize;
    for round in 0..2 {
        let (tasks, root) = tessera::runtime::sum_tree::inc_sum_tree(n, 8, &format!("tree{round}"));
        let out = client.compute(tasks, &[root]).unwrap();
        let n = n as i64;
        assert_eq!(i64::decode(&out[0]).unwrap(), n * (n + 1) / 2);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let v = wait_for(&view, |v| v.task_events_next > TASK_EVENTS_KEPT as u64);
    let (events, next) = view.task_events_since(0, usize::MAX);
    assert_eq!(
        events.len(),
        TASK_EVENTS_KEPT,
        "the ring keeps the newest only"
    );
    // Every result was counted (2 × (16,384 leaves + the tree above them)), the ring holding
    // the newest of them.
    assert!(next >= 2 * 16_384, "{next} task events counted");
    assert!(next >= v.task_events_next);
    let (mem, _) = view.memory_since(0, usize::MAX);
    assert!(!mem.is_empty(), "memory is sampled every second");
    assert!(mem.iter().all(|s| s.workers.len() <= 2));
}
