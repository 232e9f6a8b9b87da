//! End-to-end spilling benchmark (W4 of benches/README.md): a local cluster of worker
//! *processes* with a memory limit persists pseudo-random `f64` chunks several times larger
//! than its memory, then sums them; the side-by-side peer is benches/peers/dask_spill.py.
//!
//! Default: 2 workers × 1 thread, `--memory-limit 1GiB` each, a 25,000 × 20,000 `f64` array in
//! chunks of 1,000 rows (25 chunks of 160 MB, 4 GB), spill directory under `$TMPDIR` (or
//! `/tmp`). `dd` writes as many bytes as are spilled to the same directory before and after
//! the run, and the workers' combined spill write throughput is compared with it. The sum is checked bit for bit against the same
//! computation done in this process; each worker's peak RSS (`VmHWM`) is checked against its
//! terminate threshold.
//!
//! Run: `cargo bench --bench spill_e2e -- [--workers 2] [--memory-limit 1GiB] [--rows 25000]
//! [--cols 20000] [--chunk-rows 1000] [--local-directory DIR] [--skip-check]
//! [--dashboard off|on|watched]` (as in W1: benches/support/dashboard_watch.rs).
//! Prints one JSON line with the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::deploy::{LocalCluster, LocalClusterConfig};

#[path = "support/dashboard_watch.rs"]
mod dashboard_watch;
use tessera::runtime::kernels_builtin::{names, random_f64_args, random_f64_chunk, sum_f64};
use tessera::runtime::sum_tree::submit_f64_sum_tree;
use tessera::runtime::{Client, Future, Task, Value};
use tessera::units::ByteSize;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak RSS of a process from `/proc/<pid>/status` (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// `dd` of `bytes` (rounded up to MiB) zeros into `dir`, 1 MiB blocks: (plain, with
/// `conv=fdatasync`) in bytes per second.
fn dd_throughput(dir: &Path, bytes: u64) -> (f64, f64) {
    let count = bytes.div_ceil(1 << 20).max(256);
    let file = dir.join("tessera-bench-dd");
    let run = |sync: bool| {
        let mut cmd = Command::new("dd");
        cmd.arg("if=/dev/zero")
            .arg(format!("of={}", file.display()))
            .arg("bs=1M")
            .arg(format!("count={count}"));
        if sync {
            cmd.arg("conv=fdatasync");
        }
        let t = Instant::now();
        let status = cmd
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run dd");
        let seconds = t.elapsed().as_secs_f64();
        assert!(status.success(), "dd failed");
        let _ = std::fs::remove_file(&file);
        (count << 20) as f64 / seconds
    };
    let plain = run(false);
    let synced = run(true);
    (plain, synced)
}

fn persist(client: &Client, chunks: usize, count: i64) -> Vec<Future<Bytes>> {
    let futures: Vec<Future<Bytes>> = (0..chunks)
        .map(|i| {
            client
                .submit(Task::new(names::RANDOM_F64).args_bytes(random_f64_args(i as i64, count)))
                .expect("submit")
        })
        .collect();
    client
        .wait(&futures, Some(Duration::from_secs(3600)))
        .expect("persist");
    for f in &futures {
        f.wait().expect("chunk computed");
    }
    futures
}

fn tree_sum(client: &Client, chunks: &[Future<Bytes>]) -> f64 {
    let root = submit_f64_sum_tree(client, chunks).expect("submit sum");
    root.result().expect("sum")
}

fn expected_sum(chunks: usize, count: usize) -> f64 {
    let mut level: Vec<Bytes> = (0..chunks)
        .map(|i| sum_f64(&[random_f64_chunk(i as i64, count)]).encode())
        .collect();
    while level.len() > 1 {
        level = level.chunks(2).map(|pair| sum_f64(pair).encode()).collect();
    }
    f64::decode(&level[0]).expect("f64")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let workers = num("--workers", 2);
    let nthreads = num("--nthreads", 1);
    let rows = num("--rows", 25_000);
    let cols = num("--cols", 20_000);
    let chunk_rows = num("--chunk-rows", 1_000);
    let limit: ByteSize = arg("--memory-limit")
        .unwrap_or_else(|| "1GiB".into())
        .parse()
        .expect("--memory-limit is a size");
    let parent = arg("--local-directory")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let local = parent.join(format!("tessera-spill-bench-{}", std::process::id()));
    std::fs::create_dir_all(&local).expect("create the local directory");
    let chunks = rows.div_ceil(chunk_rows);
    let count = (chunk_rows * cols) as i64;
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));

    // dd of as many bytes as the run spills (before: the expected amount; after: the amount
    // spilled): once a few GB are dirty the kernel throttles every writer to the disk's
    // write-back speed, so a short dd would measure only the page cache (measured here: dd
    // of 0.8 GB 2.1 GB/s, of 3.6 GB 0.23 GB/s, a minute apart).
    let array_bytes = (rows * cols * 8) as u64;
    let (dd_before, dd_before_synced) = dd_throughput(&local, array_bytes * 7 / 10);

    let mut config = LocalClusterConfig::new(workers, nthreads).processes(exe);
    config.memory_limit = Some(limit.0);
    config.store.local_directory = local.clone();
    let dashboard = dashboard_watch::dashboard_mode();
    dashboard_watch::configure(&mut config, &dashboard);
    let cluster = LocalCluster::start(config).expect("cluster");
    dashboard_watch::watch_if_asked(&cluster, &dashboard);
    let client = cluster.client().expect("client");

    let t = Instant::now();
    let persisted = persist(&client, chunks, count);
    let persist_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let total = tree_sum(&client, &persisted);
    let sum_s = t.elapsed().as_secs_f64();

    // Heartbeats come every second: wait for one after the sum.
    std::thread::sleep(Duration::from_millis(1500));
    let info = client.info().expect("info");
    let peaks: Vec<u64> = cluster.worker_pids().into_iter().map(peak_rss).collect();
    drop(persisted);
    client.close();
    cluster.shutdown();

    let written: u64 = info
        .workers
        .iter()
        .map(|w| w.metrics.spill_written_bytes)
        .sum();
    let spill_rates: Vec<f64> = info
        .workers
        .iter()
        .map(|w| w.metrics.spill_bytes_per_second)
        .collect();
    let unspill_rates: Vec<f64> = info
        .workers
        .iter()
        .map(|w| w.metrics.unspill_bytes_per_second)
        .collect();
    // The workers spill at the same time: their rates add up.
    let spill_rate = spill_rates.iter().sum::<f64>();
    let (dd_after, dd_after_synced) = dd_throughput(&local, written);
    let dd_plain = (dd_before + dd_after) / 2.0;
    let _ = std::fs::remove_dir_all(&local);
    let terminate = (limit.0 as f64 * 0.95) as u64;
    let peak = peaks.iter().copied().max().unwrap_or(0);

    let exact = if std::env::args().any(|a| a == "--skip-check") {
        "null".to_string()
    } else {
        (expected_sum(chunks, count as usize).to_bits() == total.to_bits()).to_string()
    };
    println!(
        "{{\"workload\":\"persist_then_sum\",\"workers\":{workers},\"memory_limit\":{},\
         \"array_bytes\":{},\"chunks\":{chunks},\"persist_seconds\":{persist_s:.3},\
         \"sum_seconds\":{sum_s:.3},\"total_seconds\":{:.3},\"sum\":{total},\"exact\":{exact},\
         \"spilled_bytes_written\":{written},\"spill_MBps_per_worker\":{:?},\
         \"unspill_MBps_per_worker\":{:?},\"dd_MBps_before_after\":[{:.0},{:.0}],\
         \"dd_fdatasync_MBps_before_after\":[{:.0},{:.0}],\"spill_vs_dd\":{:.2},\"peak_rss_per_worker\":{peaks:?},\"terminate_bytes\":{terminate},\
         \"peak_below_terminate\":{}}}",
        limit.0,
        array_bytes,
        persist_s + sum_s,
        spill_rates.iter().map(|r| (r / 1e6).round()).collect::<Vec<_>>(),
        unspill_rates
            .iter()
            .map(|r| (r / 1e6).round())
            .collect::<Vec<_>>(),
        dd_before / 1e6,
        dd_after / 1e6,
        dd_before_synced / 1e6,
        dd_after_synced / 1e6,
        spill_rate / dd_plain,
        peak < terminate,
    );
}
