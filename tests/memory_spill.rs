//! Memory limits and spilling end to end: clusters with 64 MiB per worker whose data is several
//! times that, in threads mode and as `tessera worker` processes; a `--max-spill` cap and a
//! real 4 MiB tmpfs (disk full) with no lost chunk; cleanup of a SIGKILLed worker's spill
//! directory; the terminate threshold.
//!
//! Every result is compared bit for bit with the same computation done in this process.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::protocol::{ClusterInfo, WorkerMetrics};
use tessera::runtime::kernels_builtin::{names, random_f64_args, random_f64_chunk, sum_f64};
use tessera::runtime::sum_tree::submit_f64_sum_tree;
use tessera::runtime::{Client, Future, Task, Value};

const MIB: u64 = 1 << 20;

/// `chunks` chunks of `chunk_bytes` random f64 each, from seeds `seed0..`.
struct Workload {
    chunks: usize,
    chunk_bytes: u64,
    seed0: i64,
}

impl Workload {
    fn count(&self) -> i64 {
        (self.chunk_bytes / 8) as i64
    }

    /// Compute the chunks and keep them on the workers (like dask's `persist`).
    fn persist(&self, client: &Client) -> Vec<Future<Bytes>> {
        let futures: Vec<Future<Bytes>> = (0..self.chunks)
            .map(|i| {
                let args = random_f64_args(self.seed0 + i as i64, self.count());
                client
                    .submit(Task::new(names::RANDOM_F64).args_bytes(args))
                    .expect("submit chunk")
            })
            .collect();
        client
            .wait(&futures, Some(Duration::from_secs(120)))
            .expect("persist");
        for f in &futures {
            f.wait().expect("every chunk computed");
        }
        futures
    }

    /// Sum every chunk, then the partial sums pairwise.
    fn sum(&self, client: &Client, chunks: &[Future<Bytes>]) -> f64 {
        let root = submit_f64_sum_tree(client, chunks).expect("submit sum");
        root.result().expect("sum")
    }

    /// The same sum computed here.
    fn expected(&self) -> f64 {
        let mut level: Vec<Bytes> = (0..self.chunks)
            .map(|i| {
                let chunk = random_f64_chunk(self.seed0 + i as i64, self.count() as usize);
                sum_f64(&[chunk]).encode()
            })
            .collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|pair| sum_f64(pair).encode()).collect();
        }
        f64::decode(&level[0]).expect("f64")
    }
}

/// Poll `tessera info` until `done` holds for the workers' metrics (heartbeats come every
/// second), or fail after `timeout`.
fn wait_for_metrics(
    client: &Client,
    timeout: Duration,
    what: &str,
    done: impl Fn(&[WorkerMetrics]) -> bool,
) -> ClusterInfo {
    let deadline = Instant::now() + timeout;
    loop {
        let info = client.info().expect("info");
        let metrics: Vec<WorkerMetrics> = info.workers.iter().map(|w| w.metrics.clone()).collect();
        if done(&metrics) {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; metrics: {metrics:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spill_dirs(parent: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(parent) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("tessera-worker-"))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn config(workers: usize, limit: u64, local_directory: &Path) -> LocalClusterConfig {
    let mut config = LocalClusterConfig::new(workers, 1);
    config.memory_limit = Some(limit);
    config.store.local_directory = local_directory.to_path_buf();
    config
}

#[test]
fn thread_workers_with_64_mib_spill_three_times_their_memory_and_sum_exactly() {
    let dir = common::temp_dir();
    let cluster = LocalCluster::start(config(2, 64 * MIB, dir.path())).expect("cluster");
    let client = cluster.client().expect("client");
    let work = Workload {
        chunks: 96,
        chunk_bytes: 4 * MIB,
        seed0: 1000,
    };
    let chunks = work.persist(&client);
    let info = wait_for_metrics(&client, Duration::from_secs(30), "spilled chunks", |ms| {
        ms.iter().map(|m| m.spilled_chunks).sum::<u64>() > 0
    });
    for w in &info.workers {
        // Threads-mode workers go by the bytes they store: back-pressure starts no task above
        // the spill threshold (0.7) while spills are pending, so at most one chunk more.
        assert!(
            w.metrics.memory_bytes <= (64 * MIB * 7 / 10) + 4 * MIB,
            "worker {} holds {} bytes in memory",
            w.id,
            w.metrics.memory_bytes
        );
    }
    let total = work.sum(&client, &chunks);
    assert_eq!(total.to_bits(), work.expected().to_bits(), "{total}");
    let info = client.info().expect("info");
    let written: u64 = info
        .workers
        .iter()
        .map(|w| w.metrics.spill_written_bytes)
        .sum();
    assert!(written >= 200 * MIB, "only {written} bytes spilled");
    drop(chunks);
    client.close();
    cluster.shutdown();
    assert!(
        spill_dirs(dir.path()).is_empty(),
        "spill directories left: {:?}",
        spill_dirs(dir.path())
    );
}

const PROCESS_LIMIT: u64 = 160 * MIB;

#[test]
fn worker_processes_with_160_mib_spill_stay_under_terminate_and_sum_exactly() {
    let dir = common::temp_dir();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));
    // Worker processes start at ~15 MiB RSS (the binary links MPI, HDF5, NetCDF) and, on an
    // overloaded machine, overshoot the spill threshold by tens of MiB before the monitor
    // catches up (see the issue notes); 160 MiB each still spills ~190 MiB of 384 MiB.
    let cluster =
        LocalCluster::start(config(2, PROCESS_LIMIT, dir.path()).processes(exe)).expect("cluster");
    let client = cluster.client().expect("client");
    let work = Workload {
        chunks: 96,
        chunk_bytes: 4 * MIB,
        seed0: 7,
    };
    let chunks = work.persist(&client);
    let total = work.sum(&client, &chunks);
    assert_eq!(total.to_bits(), work.expected().to_bits(), "{total}");
    let info = wait_for_metrics(&client, Duration::from_secs(30), "spill figures", |ms| {
        ms.iter()
            .all(|m| m.spilled_chunks > 0 && m.peak_rss_bytes > 0)
    });
    let terminate = PROCESS_LIMIT * 95 / 100;
    for w in &info.workers {
        let m = &w.metrics;
        assert!(
            m.peak_rss_bytes < terminate,
            "worker {} peaked at {} bytes, terminate is {terminate}",
            w.id,
            m.peak_rss_bytes
        );
        assert!(m.spill_bytes_per_second > 0.0, "{m:?}");
    }
    assert_eq!(cluster.worker_pids().len(), 2, "no worker terminated");
    drop(chunks);
    client.close();
    cluster.shutdown();
    assert!(spill_dirs(dir.path()).is_empty());
}

#[test]
fn max_spill_cap_keeps_every_chunk_in_memory_and_reports_disk_full() {
    let dir = common::temp_dir();
    let mut config = config(1, 64 * MIB, dir.path());
    config.store.max_spill = Some(8 * MIB);
    let cluster = LocalCluster::start(config).expect("cluster");
    let client = cluster.client().expect("client");
    // 48 MiB: 8 MiB fit on disk, 40 MiB stay in memory (above target 38.4 MiB, under pause).
    let work = Workload {
        chunks: 12,
        chunk_bytes: 4 * MIB,
        seed0: 42,
    };
    let chunks = work.persist(&client);
    let info = wait_for_metrics(&client, Duration::from_secs(30), "disk full", |ms| {
        ms[0].disk_full && ms[0].completed == 12
    });
    let m = &info.workers[0].metrics;
    assert!(m.spilled_bytes <= 8 * MIB && m.spilled_chunks >= 1, "{m:?}");
    assert_eq!(m.stored_keys, 12, "no chunk lost: {m:?}");
    let total = work.sum(&client, &chunks);
    assert_eq!(total.to_bits(), work.expected().to_bits());
    drop(chunks);
    client.close();
    cluster.shutdown();
}

/// A 4 MiB tmpfs, unmounted on drop.
struct TinyTmpfs {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl TinyTmpfs {
    /// `None` when this process may not mount (not root).
    fn mount() -> Option<TinyTmpfs> {
        let parent = common::temp_dir();
        let path = parent.path().join("tmpfs");
        std::fs::create_dir(&path).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(TinyTmpfs {
            path,
            _parent: parent,
        })
    }
}

impl Drop for TinyTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[test]
fn a_full_tmpfs_stops_spilling_without_losing_a_chunk() {
    let Some(tmpfs) = TinyTmpfs::mount() else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let cluster = LocalCluster::start(config(1, 64 * MIB, &tmpfs.path)).expect("cluster");
    let client = cluster.client().expect("client");
    // 48 chunks of 1 MiB: about 10 MiB must be spilled, the tmpfs takes less than 4.
    let work = Workload {
        chunks: 48,
        chunk_bytes: MIB,
        seed0: 9000,
    };
    let chunks = work.persist(&client);
    let info = wait_for_metrics(&client, Duration::from_secs(30), "disk full", |ms| {
        ms[0].disk_full && ms[0].completed == 48
    });
    let m = &info.workers[0].metrics;
    assert_eq!(m.stored_keys, 48, "no chunk lost: {m:?}");
    assert!(m.spilled_bytes < 4 * MIB, "{m:?}");
    let total = work.sum(&client, &chunks);
    assert_eq!(total.to_bits(), work.expected().to_bits());
    drop(chunks);
    client.close();
    cluster.shutdown();
    assert!(spill_dirs(&tmpfs.path).is_empty());
}

/// A `tessera scheduler` process and its scheduler file.
struct Scheduler {
    child: Child,
    file: PathBuf,
}

impl Scheduler {
    fn start(dir: &Path) -> Scheduler {
        let file = dir.join("scheduler.json");
        let child = common::tessera()
            .args(["scheduler", "--scheduler-file"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scheduler");
        common::wait_for_file(&file, Duration::from_secs(20));
        Scheduler { child, file }
    }

    fn worker(&self, extra: &[&str]) -> Child {
        common::tessera()
            .args(["worker", "--nthreads", "1", "--scheduler-file"])
            .arg(&self.file)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn worker")
    }

    fn client(&self) -> Client {
        Client::from_scheduler_file(&self.file, Duration::from_secs(20)).expect("client")
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(timeout: Duration, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_new_worker_removes_the_spill_directory_of_a_killed_one() {
    let dir = common::temp_dir();
    let local = dir.path().join("local");
    let scheduler = Scheduler::start(dir.path());
    let local_arg = local.to_str().expect("utf-8 path");
    let mut first = scheduler.worker(&["--local-directory", local_arg]);
    wait_until(Duration::from_secs(20), "the first spill directory", || {
        spill_dirs(&local).len() == 1
    });
    let stale = spill_dirs(&local).remove(0);
    common::signal(&first, libc::SIGKILL);
    first.wait().expect("wait");
    assert!(stale.exists(), "a SIGKILLed worker cannot clean up");
    let mut second = scheduler.worker(&["--local-directory", local_arg]);
    wait_until(Duration::from_secs(20), "the stale directory to go", || {
        let dirs = spill_dirs(&local);
        !stale.exists() && dirs.len() == 1
    });
    let client = scheduler.client();
    client.shutdown_cluster();
    let status = common::wait_status(&mut second, Duration::from_secs(20));
    assert!(status.success(), "{status}");
    assert!(
        spill_dirs(&local).is_empty(),
        "a worker removes its own directory on exit"
    );
}

#[test]
fn terminate_threshold_stops_the_worker_and_its_task_runs_elsewhere() {
    let dir = common::temp_dir();
    let scheduler = Scheduler::start(dir.path());
    let small = scheduler.worker(&[
        "--memory-limit",
        "64MiB",
        "--memory-pause",
        "none",
        "--local-directory",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    let client = scheduler.client();
    client
        .wait_for_workers(1, Duration::from_secs(20))
        .expect("worker");
    // 96 MiB of touched memory in one result: nothing can be spilled while it is computed.
    let big = client
        .submit::<Bytes>(
            Task::new(names::RANDOM_F64).args_bytes(random_f64_args(5, (96 * MIB / 8) as i64)),
        )
        .expect("submit");
    let out = common::wait_output(small, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", out.status);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("tessera: error: worker memory") && last.contains("terminate threshold"),
        "stderr:\n{stderr}"
    );
    // The task waits at the scheduler and runs on the next worker that joins.
    let mut large = scheduler.worker(&["--memory-limit", "none"]);
    let value = big.result().expect("rescheduled");
    assert_eq!(value, random_f64_chunk(5, (96 * MIB / 8) as usize));
    client.shutdown_cluster();
    let status = common::wait_status(&mut large, Duration::from_secs(20));
    assert!(status.success(), "{status}");
}

/// A 64 MiB worker (terminate threshold off) whose spill directory under `local` is deleted
/// once created, with `--disk-full-timeout timeout`; returns it and the deleted directory.
fn worker_without_spill_directory(
    scheduler: &Scheduler,
    local: &Path,
    timeout: &str,
) -> (Child, PathBuf) {
    let worker = scheduler.worker(&[
        "--memory-limit",
        "64MiB",
        "--memory-terminate",
        "none",
        "--disk-full-timeout",
        timeout,
        "--local-directory",
        local.to_str().expect("utf-8 path"),
    ]);
    wait_until(Duration::from_secs(20), "the spill directory", || {
        spill_dirs(local).len() == 1
    });
    let spill_dir = spill_dirs(local).remove(0);
    std::fs::remove_dir_all(&spill_dir).expect("delete the spill directory");
    (worker, spill_dir)
}

/// Once the worker is connected, submit 12 chunks of 8 MiB from `seed0` (96 MiB, more than
/// the 64 MiB limit), kept by the client, without waiting for them.
fn submit_more_than_the_limit(
    scheduler: &Scheduler,
    seed0: i64,
) -> (Client, Workload, Vec<Future<Bytes>>) {
    let client = scheduler.client();
    client
        .wait_for_workers(1, Duration::from_secs(20))
        .expect("worker");
    let work = Workload {
        chunks: 12,
        chunk_bytes: 8 * MIB,
        seed0,
    };
    let futures = work.submit(&client);
    (client, work, futures)
}

impl Workload {
    /// Submit the chunks without waiting for them.
    fn submit(&self, client: &Client) -> Vec<Future<Bytes>> {
        (0..self.chunks)
            .map(|i| {
                let args = random_f64_args(self.seed0 + i as i64, self.count());
                client
                    .submit(Task::new(names::RANDOM_F64).args_bytes(args))
                    .expect("submit chunk")
            })
            .collect()
    }
}

/// Finding of the fault probe (issue 17): a worker whose spill directory was deleted (or made
/// read-only) mid-run stayed paused for ever, logging "spilling to disk still impossible"
/// every 30 s, and the client heard nothing. Now, paused with spilling impossible and no chunk
/// freed for `--disk-full-timeout`, it stops with a line naming the directory, and its work
/// runs on the next worker, exactly.
#[test]
fn a_paused_worker_whose_spill_directory_is_gone_stops_naming_it_and_its_work_moves() {
    let dir = common::temp_dir();
    let local = dir.path().join("local");
    let scheduler = Scheduler::start(dir.path());
    let (small, spill_dir) = worker_without_spill_directory(&scheduler, &local, "2s");
    let (client, work, futures) = submit_more_than_the_limit(&scheduler, 40);
    let started = Instant::now();
    let out = common::wait_output(small, Duration::from_secs(60));
    let stopped_after = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", out.status);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("spilling to disk impossible")
            && last.contains(spill_dir.to_str().expect("utf-8 path")),
        "stderr:\n{stderr}"
    );
    eprintln!("the worker stopped {stopped_after:?} after the submission:\n{last}");
    let mut large = scheduler.worker(&["--memory-limit", "none"]);
    assert_eq!(work.sum(&client, &futures), work.expected());
    client.shutdown_cluster();
    let status = common::wait_status(&mut large, Duration::from_secs(20));
    assert!(status.success(), "{status}");
}

/// Finding of the fault probe (issue 17): with spill disks full, runs deadlocked at
/// `processing 1, ready 0`: a paused one-thread worker's queued task was never moved, its one
/// task counting as the one it runs. Here the worker cannot spill (its directory is deleted)
/// and never gives up (`--disk-full-timeout none`): it pauses holding tasks it has not
/// started, and a worker with room that joins gets them.
#[test]
fn a_paused_workers_unstarted_tasks_move_to_a_worker_with_room() {
    let dir = common::temp_dir();
    let local = dir.path().join("local");
    let scheduler = Scheduler::start(dir.path());
    let (small, _) = worker_without_spill_directory(&scheduler, &local, "none");
    let (client, work, futures) = submit_more_than_the_limit(&scheduler, 60);
    wait_for_metrics(&client, Duration::from_secs(30), "the worker paused", |m| {
        m.iter().any(|w| w.paused && w.disk_full)
    });
    let large = scheduler.worker(&["--memory-limit", "none"]);
    client
        .wait(&futures, Some(Duration::from_secs(30)))
        .expect("every chunk computed although the first worker stays paused");
    assert_eq!(work.sum(&client, &futures), work.expected());
    client.shutdown_cluster();
    for worker in [small, large] {
        let out = common::wait_output(worker, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", out.status);
    }
}
