//! The local cluster's nanny: a worker process killed (SIGKILL) in the middle of a computation
//! is started again and the computation still completes with the exact result; a cluster whose
//! workers keep dying gives the client an error instead of a hang.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::kernels_builtin::{names, random_f64_args, random_f64_chunk, sum_f64};
use tessera::runtime::sum_tree::submit_f64_sum_tree;
use tessera::runtime::{Client, ClientError, Future, Task, Value};

const CHUNKS: usize = 32;
const COUNT: i64 = 1 << 20; // 8 MiB of f64 per chunk

fn processes(workers: usize) -> LocalClusterConfig {
    LocalClusterConfig::new(workers, 1).processes(PathBuf::from(env!("CARGO_BIN_EXE_tessera")))
}

fn submit_chunks(client: &Client) -> Vec<Future<Bytes>> {
    (0..CHUNKS)
        .map(|i| {
            client
                .submit(Task::new(names::RANDOM_F64).args_bytes(random_f64_args(i as i64, COUNT)))
                .expect("submit")
        })
        .collect()
}

fn submit_sum(client: &Client, chunks: &[Future<Bytes>]) -> Future<f64> {
    submit_f64_sum_tree(client, chunks).expect("submit")
}

fn expected_sum() -> f64 {
    let mut level: Vec<Bytes> = (0..CHUNKS)
        .map(|i| sum_f64(&[random_f64_chunk(i as i64, COUNT as usize)]).encode())
        .collect();
    while level.len() > 1 {
        level = level.chunks(2).map(|pair| sum_f64(pair).encode()).collect();
    }
    f64::decode(&level[0]).expect("f64")
}

#[test]
fn a_sigkilled_worker_process_is_restarted_and_the_computation_completes_exactly() {
    let cluster = LocalCluster::start(processes(2)).expect("cluster");
    let client = cluster.client().expect("client");
    let before = cluster.worker_pids();
    let chunks = submit_chunks(&client);
    let total = submit_sum(&client, &chunks);
    // Mid-computation: some chunks are done (held by both workers), most are not.
    chunks[0].wait().expect("first chunk");
    let victim = before[0];
    // SAFETY: sending a signal to our own child process.
    let killed = unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    assert_eq!(killed, 0, "kill worker {victim}");
    // A deadline, so a broken nanny fails the test instead of hanging it.
    total
        .wait_timeout(Duration::from_secs(120))
        .expect("the sum completes despite the killed worker");
    let sum = total.result().expect("the sum's value");
    assert_eq!(sum.to_bits(), expected_sum().to_bits(), "{sum}");
    assert!(
        cluster.worker_restarts() >= 1,
        "the killed worker was started again"
    );
    let after = cluster.worker_pids();
    assert!(!after.contains(&victim), "{before:?} -> {after:?}");
    assert_eq!(after.len(), 2);
    client
        .wait_for_workers(2, Duration::from_secs(30))
        .expect("the restarted worker registers");
    drop(chunks);
    client.close();
    cluster.shutdown();
}

#[test]
fn workers_that_keep_dying_end_in_an_error_for_the_client_not_a_hang() {
    let dir = common::temp_dir();
    let mut config = processes(1);
    // A 64 MiB chunk in a worker limited to 32 MiB: it stops itself at the terminate
    // threshold every time; after one restart the nanny gives up.
    config.memory_limit = Some(32 << 20);
    config.store.local_directory = dir.path().to_path_buf();
    config.max_restarts = 1;
    let cluster = LocalCluster::start(config).expect("cluster");
    let client = cluster.client().expect("client");
    let started = Instant::now();
    let chunk: Future<Bytes> = client
        .submit(Task::new(names::RANDOM_F64).args_bytes(random_f64_args(1, 8 << 20)))
        .expect("submit");
    let error = chunk
        .wait_timeout(Duration::from_secs(120))
        .expect_err("the chunk cannot be computed");
    assert!(
        !matches!(error, ClientError::Timeout(_)),
        "an error, not a hang: {error}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    assert!(
        error.to_string().contains("every worker process"),
        "the error says why: {error}"
    );
    assert_eq!(cluster.worker_restarts(), 1);
    client.close();
    cluster.shutdown();
}
