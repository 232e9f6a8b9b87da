//! Walltime-aware placement end to end: a scheduler and two thread workers over TCP, one with
//! a short `--lifetime`. Once the scheduler has seen how long tasks of a prefix take, tasks of
//! that prefix that would outlast the short worker all run on the other one, while quick
//! tasks still use the short worker until it retires.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::core::SchedulerConfig;
use tessera::protocol::Secret;
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{
    start_scheduler, start_worker, Client, Future, KeyStatus, SchedulerServerConfig, Task,
    WorkerConfig, WorkerHandle,
};
use tessera::transport::Address;

/// How long one "slow" task sleeps.
const SLOW: Duration = Duration::from_millis(3_000);
/// The short worker's lifetime: after one slow task it has less than `SLOW + margin` left.
const SHORT_LIFETIME: Duration = Duration::from_millis(6_000);

fn worker(
    address: &Address,
    secret: &Secret,
    name: &str,
    lifetime: Option<Duration>,
) -> WorkerHandle {
    let mut config = WorkerConfig::new(address.clone(), secret.clone(), 2);
    config.name = name.to_owned();
    config.lifetime = lifetime;
    config.retire_timeout = Duration::from_secs(30);
    start_worker(config).expect("worker starts")
}

/// The workers holding a finished task's result, by data address.
fn holders(future: &Future<Bytes>) -> Vec<String> {
    match future.status() {
        KeyStatus::Ready { holders, .. } => holders,
        other => panic!("{} is not ready: {other:?}", future.key()),
    }
}

fn sleep_task(key: &str, duration: Duration) -> Task {
    Task::new(names::SLEEP)
        .key(key)
        .arg(duration.as_millis() as i64)
}

#[test]
fn tasks_known_to_outlast_a_worker_run_on_the_worker_with_time_left() {
    let secret = Secret::generate();
    let mut server = SchedulerServerConfig::new(
        Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        secret.clone(),
    );
    server.policy = SchedulerConfig {
        walltime_margin: Duration::from_secs(1),
        ..SchedulerConfig::default()
    };
    let scheduler = start_scheduler(server).expect("scheduler starts");
    let address = scheduler.address().clone();
    let started = Instant::now();
    let short = worker(&address, &secret, "short", Some(SHORT_LIFETIME));
    let long = worker(&address, &secret, "long", None);
    let client = Client::connect(&address, &secret).expect("client connects");
    client
        .wait_for_workers(2, Duration::from_secs(10))
        .expect("both workers registered");
    // `tessera info` shows how long each worker has left.
    let info = client.info().expect("cluster info");
    for w in &info.workers {
        match w.name.as_str() {
            "short" => assert!(
                w.remaining_lifetime_secs
                    .is_some_and(|s| s > 0.0 && s <= SHORT_LIFETIME.as_secs_f64()),
                "short worker: {:?}",
                w.remaining_lifetime_secs
            ),
            _ => assert_eq!(w.remaining_lifetime_secs, None, "{}", w.name),
        }
    }

    // One slow task teaches the scheduler how long its prefix takes.
    let first: Future<Bytes> = client.submit(sleep_task("slow-0", SLOW)).expect("submit");
    first.wait().expect("first slow task runs");
    let elapsed = started.elapsed();
    assert!(
        elapsed + SLOW + Duration::from_secs(1) > SHORT_LIFETIME,
        "the short worker must now have too little time left (elapsed {elapsed:?})"
    );
    assert!(
        elapsed + Duration::from_millis(1_500) < SHORT_LIFETIME,
        "the machine is too slow for this test's timing (elapsed {elapsed:?})"
    );

    // Slow tasks first (best priority), then quick ones of an unknown prefix.
    let slow: Vec<Future<Bytes>> = (1..=4)
        .map(|i| {
            client
                .submit(sleep_task(&format!("slow-{i}"), SLOW))
                .expect("submit")
        })
        .collect();
    let quick: Vec<Future<Bytes>> = (0..8)
        .map(|i| {
            client
                .submit(sleep_task(&format!("quick-{i}"), Duration::from_millis(20)))
                .expect("submit")
        })
        .collect();
    client
        .wait(&slow, Some(Duration::from_secs(60)))
        .expect("slow tasks finish");
    client
        .wait(&quick, Some(Duration::from_secs(60)))
        .expect("quick tasks finish");
    for future in &slow {
        assert_eq!(
            holders(future),
            vec![long.data_address.clone()],
            "{} ran on the worker about to end",
            future.key()
        );
    }
    // The short worker was not simply gone: it ran quick tasks meanwhile.
    let on_short = quick
        .iter()
        .filter(|f| holders(f).contains(&short.data_address))
        .count();
    assert!(on_short > 0, "no quick task ran on the short worker");

    client.close();
    scheduler.shutdown("test done");
    scheduler.join().expect("scheduler stops");
    long.join().expect("long worker stops");
    short.join().expect("short worker stops");
}
