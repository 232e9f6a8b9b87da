//! `tessera demo`: start a local cluster of worker processes and run a workload on it with a
//! progress bar — an array analysis (default, see `demo_array`) or a plain task graph
//! (`--workload tasks`, see `demo_tasks`) — then check the answer and print a summary.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::args::{DemoArgs, DemoWorkload, OutputFormat};
use crate::cli::signals::ShutdownSignal;
use crate::deploy::{LocalCluster, LocalClusterConfig};

pub fn run(args: DemoArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    match args.workload {
        DemoWorkload::Array => super::demo_array::run(&args, signal),
        DemoWorkload::Tasks => super::demo_tasks::run(&args, signal),
    }
}

/// The demo's local cluster of `tessera worker` processes, and how long it took to be ready
/// (announced on stderr for human output).
pub(super) fn start_cluster(args: &DemoArgs) -> anyhow::Result<(LocalCluster, Duration)> {
    let exe = std::env::current_exe().context("cannot find the tessera executable")?;
    let t0 = Instant::now();
    let cluster =
        LocalCluster::start(LocalClusterConfig::new(args.workers, args.nthreads).processes(exe))?;
    let startup = t0.elapsed();
    if args.output == OutputFormat::Human {
        eprintln!(
            "Local cluster: scheduler {}, {} worker processes x {} thread(s), ready in {} ms",
            cluster.address(),
            args.workers,
            args.nthreads,
            startup.as_millis()
        );
    }
    Ok((cluster, startup))
}
