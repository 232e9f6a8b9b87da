//! End-to-end runtime benchmark (W1 of benches/README.md): a real local cluster of worker
//! *processes* over TCP, driven by a client.
//!
//! - map: N independent trivial tasks submitted and gathered;
//! - chain: N dependent tasks (per-step latency);
//! - tree: binary-tree reduction of 2^k leaves.
//!
//! Run: `cargo bench --bench runtime_e2e -- [--workers 2] [--nthreads 1] [--repeat 5]
//! [--dashboard off|on|watched]` (`watched`: two clients follow the dashboard's event stream
//! all along, like two open browser tabs; default `on`, the default of every scheduler).
//! Prints one JSON line per workload with the median of the repeats.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tessera::core::{TaskKey, TaskSpec};
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{Client, Value};

#[path = "support/dashboard_watch.rs"]
mod dashboard_watch;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn map_run(client: &Client, n: usize) -> Duration {
    let t = Instant::now();
    let fs = client
        .map::<i64, i64>(names::INC, 0..n as i64)
        .expect("map");
    let vs = client.gather(&fs).expect("gather");
    let el = t.elapsed();
    assert_eq!(vs[n - 1], n as i64);
    el
}

fn chain_run(client: &Client, n: usize, round: usize) -> Duration {
    let mut tasks = Vec::with_capacity(n);
    let mut prev: Option<TaskKey> = None;
    for i in 0..n {
        let key = TaskKey::new(format!("chain-{round}-{i}"));
        let deps = prev.iter().cloned().collect();
        tasks.push(TaskSpec::new(key.clone(), names::INC, 0i64.encode(), deps));
        prev = Some(key);
    }
    let last = prev.expect("n > 0");
    let t = Instant::now();
    let out = client.compute(tasks, &[last]).expect("chain");
    let el = t.elapsed();
    assert_eq!(i64::decode(&out[0]).unwrap(), n as i64);
    el
}

fn tree_run(client: &Client, leaves: usize, round: usize) -> (Duration, usize) {
    let (tasks, root) =
        tessera::runtime::sum_tree::inc_sum_tree(leaves, 2, &format!("tree-{round}"));
    let ntasks = tasks.len();
    let t = Instant::now();
    let out = client.compute(tasks, &[root]).expect("tree");
    let el = t.elapsed();
    let n = leaves as i64;
    assert_eq!(i64::decode(&out[0]).unwrap(), n * (n + 1) / 2);
    (el, ntasks)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let workers = arg("--workers", 2);
    let nthreads = arg("--nthreads", 1);
    let repeat = arg("--repeat", 5);
    let n_map = arg("--map", 20_000);
    let n_chain = arg("--chain", 2_000);
    let leaves = arg("--leaves", 1 << 14);
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));

    let t = Instant::now();
    let mut config = LocalClusterConfig::new(workers, nthreads).processes(exe);
    let dashboard = dashboard_watch::dashboard_mode();
    dashboard_watch::configure(&mut config, &dashboard);
    if let Ok(s) = std::env::var("TESSERA_SATURATION") {
        config.policy.saturation = s.parse().expect("TESSERA_SATURATION must be a number");
    }
    let cluster = LocalCluster::start(config).expect("cluster");
    let startup = t.elapsed();
    dashboard_watch::watch_if_asked(&cluster, &dashboard);
    let client = cluster.client().expect("client");
    println!(
        "{{\"workload\":\"startup\",\"workers\":{workers},\"seconds\":{:.4}}}",
        startup.as_secs_f64()
    );

    map_run(&client, 1000); // warm-up
    let map: Vec<f64> = (0..repeat)
        .map(|_| map_run(&client, n_map).as_secs_f64())
        .collect();
    let m = median(map);
    println!(
        "{{\"workload\":\"map\",\"tasks\":{n_map},\"median_seconds\":{m:.4},\"tasks_per_second\":{:.0}}}",
        n_map as f64 / m
    );
    let chain: Vec<f64> = (0..repeat)
        .map(|r| chain_run(&client, n_chain, r).as_secs_f64())
        .collect();
    let c = median(chain);
    println!(
        "{{\"workload\":\"chain\",\"tasks\":{n_chain},\"median_seconds\":{c:.4},\"us_per_step\":{:.1}}}",
        c / n_chain as f64 * 1e6
    );
    let mut ntasks = 0;
    let tree: Vec<f64> = (0..repeat)
        .map(|r| {
            let (d, n) = tree_run(&client, leaves, r);
            ntasks = n;
            d.as_secs_f64()
        })
        .collect();
    let tr = median(tree);
    println!(
        "{{\"workload\":\"tree\",\"tasks\":{ntasks},\"median_seconds\":{tr:.4},\"tasks_per_second\":{:.0}}}",
        ntasks as f64 / tr
    );
    client.close();
    cluster.shutdown();
}
