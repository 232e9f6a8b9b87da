//! End-to-end array benchmarks (issue 3 of benches/README.md), side by side with
//! `benches/peers/dask_arrays.py`: a local cluster of 2 worker *processes* × 1 thread, a fresh
//! cluster per workload so each worker's peak RSS (VmHWM) belongs to that workload.
//!
//! - `w2_std`: `x = random((20000, 20000), chunks=(2000, 2000)); std(x)`;
//! - `w2_mean_slice`: `mean(x + x.T, axis=0)[:10]`;
//! - `fused_sum`: `sum(ones((40000, 40000), chunks=(4000, 4000)) * 2 + 1)`, as GB/s of the
//!   elements it covers, next to a STREAM-like sum (and copy) over a 1 GiB `Vec<f64>` with 2
//!   threads measured in the same run;
//! - `w6_rechunk_sum`: `random((8000, 8000), chunks=(8000, 100))` rechunked to (100, 8000),
//!   then summed; peak worker RSS reported.
//!
//! Run: `cargo bench --bench array_e2e -- [--repeat 3] [--only w2_std] [--workers 2]`.
//! Prints one JSON line per workload (median and best of the repeats).

use std::path::PathBuf;
use std::time::Instant;

use tessera::array::{Array, DType, IndexItem, ReduceOptions};
use tessera::deploy::{LocalCluster, LocalClusterConfig};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn best(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Peak RSS (VmHWM) of a process in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

struct Workload {
    name: &'static str,
    /// Bytes of elements the expression covers (for GB/s).
    bytes: f64,
    build: fn() -> Array,
    check: fn(f64) -> bool,
}

fn w2_x() -> Array {
    Array::random_uniform(&[20_000, 20_000], 1, 0.0, 1.0, [2000, 2000]).expect("x")
}

fn w2_std() -> Array {
    w2_x().std(ReduceOptions::all(), 0.0).expect("std")
}

fn w2_mean_slice() -> Array {
    let x = w2_x();
    let s = (&x + &x.t()).expect("x + x.T");
    s.mean(0)
        .expect("mean")
        .index(&[IndexItem::slice(None, Some(10), 1)])
        .expect("[:10]")
}

fn fused_sum() -> Array {
    let ones = Array::ones(&[40_000, 40_000], DType::F64, [4000, 4000]).expect("ones");
    ((&ones * 2.0).expect("*2") + 1.0)
        .expect("+1")
        .sum(ReduceOptions::all())
        .expect("sum")
}

/// `sum(arange(n) * 2 + 1)` over the same number of elements as `fused_sum`: values that
/// depend on the position, so the elementwise work runs per block (no invariant hoisting).
fn fused_sum_arange() -> Array {
    let n = 40_000f64 * 40_000.0;
    let x = Array::arange(0.0, n, 1.0, DType::F64, 16_000_000).expect("arange");
    ((&x * 2.0).expect("*2") + 1.0)
        .expect("+1")
        .sum(ReduceOptions::all())
        .expect("sum")
}

/// W6 with a materialised input: rechunking a generator only re-cuts the generator (no data
/// moves), so the input is first made concrete chunks (by a transpose pair, one task per
/// input chunk), and the rechunk really moves the data.
fn w6_rechunk_sum_materialised() -> Array {
    Array::random_uniform(&[8000, 8000], 2, 0.0, 1.0, [8000, 100])
        .expect("x")
        .t()
        .t()
        .rechunk([100, 8000])
        .expect("rechunk")
        .sum(ReduceOptions::all())
        .expect("sum")
}

/// The materialisation of `w6_rechunk_sum_materialised` alone (transpose pair, no rechunk),
/// to tell its cost from the rechunk's.
fn w6_materialise_only() -> Array {
    Array::random_uniform(&[8000, 8000], 2, 0.0, 1.0, [8000, 100])
        .expect("x")
        .t()
        .t()
        .sum(ReduceOptions::all())
        .expect("sum")
}

fn w6_rechunk_sum() -> Array {
    Array::random_uniform(&[8000, 8000], 2, 0.0, 1.0, [8000, 100])
        .expect("x")
        .rechunk([100, 8000])
        .expect("rechunk")
        .sum(ReduceOptions::all())
        .expect("sum")
}

/// STREAM-like bandwidth with `threads` threads over `n` f64: (sum GB/s, copy GB/s), best of 5.
fn stream(n: usize, threads: usize) -> (f64, f64) {
    let a: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    let mut b = vec![0.0f64; n];
    let part = n / threads;
    let mut sum_best = 0.0f64;
    let mut copy_best = 0.0f64;
    for _ in 0..5 {
        let t = Instant::now();
        let total: f64 = std::thread::scope(|s| {
            let handles: Vec<_> = a
                .chunks(part)
                .map(|c| {
                    s.spawn(move || {
                        let mut acc = [0.0f64; 8];
                        let mut it = c.chunks_exact(8);
                        for w in &mut it {
                            for k in 0..8 {
                                acc[k] += w[k];
                            }
                        }
                        acc.iter().sum::<f64>() + it.remainder().iter().sum::<f64>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("sum thread"))
                .sum()
        });
        let el = t.elapsed().as_secs_f64();
        assert!(total > 0.0);
        sum_best = sum_best.max((n * 8) as f64 / el / 1e9);

        let t = Instant::now();
        std::thread::scope(|s| {
            for (dst, src) in b.chunks_mut(part).zip(a.chunks(part)) {
                s.spawn(move || dst.copy_from_slice(src));
            }
        });
        let el = t.elapsed().as_secs_f64();
        assert_eq!(b[n - 1], a[n - 1]);
        copy_best = copy_best.max((n * 16) as f64 / el / 1e9);
    }
    (sum_best, copy_best)
}

fn main() {
    let repeat: usize = arg("--repeat").and_then(|v| v.parse().ok()).unwrap_or(3);
    let workers: usize = arg("--workers").and_then(|v| v.parse().ok()).unwrap_or(2);
    let only = arg("--only");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));

    let n = 20_000f64 * 20_000.0;
    let workloads = [
        Workload {
            name: "w2_std",
            bytes: n * 8.0,
            build: w2_std,
            check: |v| (v - (1.0f64 / 12.0).sqrt()).abs() < 1e-3,
        },
        Workload {
            name: "w2_mean_slice",
            bytes: 2.0 * 2000.0 * 20_000.0 * 8.0,
            build: w2_mean_slice,
            check: |v| (v - 1.0).abs() < 0.05,
        },
        Workload {
            name: "fused_sum",
            bytes: 40_000f64 * 40_000.0 * 8.0,
            build: fused_sum,
            check: |v| v == 3.0 * 40_000f64 * 40_000.0,
        },
        Workload {
            name: "fused_sum_arange",
            bytes: 40_000f64 * 40_000.0 * 8.0,
            build: fused_sum_arange,
            check: |v| {
                let n = 40_000f64 * 40_000.0;
                (v / (n * n) - 1.0).abs() < 1e-6
            },
        },
        Workload {
            name: "w6_rechunk_sum_materialised",
            bytes: 8000f64 * 8000.0 * 8.0,
            build: w6_rechunk_sum_materialised,
            check: |v| (v / (8000f64 * 8000.0) - 0.5).abs() < 1e-3,
        },
        Workload {
            name: "w6_materialise_only",
            bytes: 8000f64 * 8000.0 * 8.0,
            build: w6_materialise_only,
            check: |v| (v / (8000f64 * 8000.0) - 0.5).abs() < 1e-3,
        },
        Workload {
            name: "w6_rechunk_sum",
            bytes: 8000f64 * 8000.0 * 8.0,
            build: w6_rechunk_sum,
            check: |v| (v / (8000f64 * 8000.0) - 0.5).abs() < 1e-3,
        },
    ];

    if only
        .as_deref()
        .is_none_or(|o| o == "stream" || o == "fused_sum")
    {
        let (sum_gbs, copy_gbs) = stream(1 << 27, 2);
        println!(
            "{}",
            serde_json::json!({
                "workload": "stream",
                "bytes": (1u64 << 27) * 8,
                "threads": 2,
                "sum_gb_per_second": (sum_gbs * 100.0).round() / 100.0,
                "copy_gb_per_second": (copy_gbs * 100.0).round() / 100.0,
            })
        );
    }

    for w in &workloads {
        if only.as_deref().is_some_and(|o| o != w.name) {
            continue;
        }
        let cluster =
            LocalCluster::start(LocalClusterConfig::new(workers, 1).processes(exe.clone()))
                .expect("local cluster");
        let client = cluster.client().expect("client");
        let pids = cluster.worker_pids();
        let idle_rss: u64 = pids.iter().map(|&p| peak_rss(p)).max().unwrap_or(0);
        let mut times = Vec::with_capacity(repeat);
        let tasks = (w.build)().graph().expect("graph").tasks.len();
        for _ in 0..repeat {
            let t = Instant::now();
            let a = (w.build)();
            let v = a.compute(&client).expect("compute").to_f64_vec();
            let el = t.elapsed().as_secs_f64();
            let first = v[0];
            assert!((w.check)(first), "{}: unexpected result {first}", w.name);
            times.push(el);
        }
        let peak: u64 = pids.iter().map(|&p| peak_rss(p)).max().unwrap_or(0);
        let m = median(times.clone());
        println!(
            "{}",
            serde_json::json!({
                "workload": w.name,
                "workers": workers,
                "tasks": tasks,
                "median_seconds": (m * 1e4).round() / 1e4,
                "best_seconds": (best(&times) * 1e4).round() / 1e4,
                "gb_per_second": (w.bytes / m / 1e9 * 100.0).round() / 100.0,
                "idle_worker_rss_mib": idle_rss / (1 << 20),
                "peak_worker_rss_mib": peak / (1 << 20),
            })
        );
        client.close();
        cluster.shutdown();
    }
}
