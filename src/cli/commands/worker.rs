//! `tessera worker`: connect to a scheduler through its scheduler file and run tasks.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::args::{SpillArgs, WorkerArgs};
use crate::cli::signals::ShutdownSignal;
use crate::core::memory::MemoryConfig;
use crate::deploy::node_memory::{launcher_ranks_on_node, node_memory_bytes};
use crate::deploy::SchedulerFile;
use crate::runtime::{start_worker, WorkerConfig, WorkerError, WorkerExit};
use crate::store::StoreConfig;
use crate::transport::resolve_endpoint;
use crate::transport::Address;

/// The memory thresholds and spill settings given by `--memory-*`, `--max-spill` and
/// `--local-directory` (the limit itself is resolved separately). Misordered thresholds are
/// a usage error naming them.
pub(super) fn memory_settings(
    spill: &SpillArgs,
) -> Result<(MemoryConfig, StoreConfig), crate::cli::UsageError> {
    let memory = MemoryConfig {
        target: spill.memory_target.0,
        spill: spill.memory_spill.0,
        pause: spill.memory_pause.0,
        terminate: spill.memory_terminate.0,
        disk_full_timeout: spill.disk_full_timeout,
        ..MemoryConfig::default()
    };
    let mut store = StoreConfig {
        max_spill: spill.max_spill.0,
        ..StoreConfig::default()
    };
    if let Some(dir) = &spill.local_directory {
        store.local_directory = dir.clone();
    }
    memory
        .validate()
        .map_err(|e| crate::cli::UsageError(format!("invalid memory thresholds: {e}")))?;
    Ok((memory, store))
}

/// How long one attempt to reach the scheduler named by the file lasts before the file is
/// read again (a new scheduler may have replaced a stale file meanwhile).
const CONNECT_ATTEMPT: Duration = Duration::from_secs(2);

pub fn run(args: WorkerArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let (memory, store) = memory_settings(&args.spill)?;
    let path = &args.connect.scheduler_file;
    // Mistakes in the network flags are found before waiting for the scheduler (exit 2).
    if let Some(name) = &args.network.interface {
        crate::transport::interface_address(name)?;
    }
    if let Some(host) = &args.network.host {
        crate::transport::check_resolves("--host", host)?;
    }
    if let Some(host) = &args.network.advertise_host {
        crate::transport::check_resolves("--advertise-host", host)?;
    }
    let deadline = Instant::now() + args.connect.timeout;
    let mut file = SchedulerFile::wait(path, args.connect.timeout)?;
    let handle = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut config = worker_config(&args, &file, memory.clone(), store.clone())?;
        config.connect_timeout = left.clamp(Duration::from_millis(100), CONNECT_ATTEMPT);
        let e = match start_worker(config) {
            Ok(h) => break h,
            Err(WorkerError::Connect(e)) => e,
            Err(e) => return Err(e.into()),
        };
        if Instant::now() >= deadline {
            file.check_alive()?;
            return Err(e).with_context(|| format!("scheduler file {}", path.display()));
        }
        // A stale file (a scheduler job and worker jobs submitted together, the workers
        // first) is replaced when the new scheduler starts: read it again.
        match SchedulerFile::read(path) {
            Ok(newer) if newer != file => {
                tracing::info!(address = %newer.address, "the scheduler file was replaced; joining the new scheduler");
                file = newer;
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    // Registered: a signal now retires it (before, it ended the process at once).
    signal.watch();
    tracing::info!(id = handle.id, address = %handle.data_address, "worker running");
    if super::wait_until(signal, || handle.is_finished()) {
        // SIGTERM (the batch system ending the job) or Ctrl-C: hand results over first.
        handle.retire("the worker received SIGINT/SIGTERM");
        let deadline = std::time::Instant::now() + args.retire_timeout;
        while !handle.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        handle.stop();
    }
    match handle.join()? {
        WorkerExit::SchedulerShutdown(reason) => {
            tracing::info!(%reason, "worker stopped by the scheduler")
        }
        WorkerExit::Stopped => tracing::info!("worker stopped"),
    }
    Ok(())
}

/// The worker's settings for the scheduler named by `file`.
fn worker_config(
    args: &WorkerArgs,
    file: &SchedulerFile,
    memory: MemoryConfig,
    store: StoreConfig,
) -> anyhow::Result<WorkerConfig> {
    let scheduler = file.address()?;
    let secret = file.secret()?;
    let scheduler_ip = match &scheduler {
        Address::Tcp(sa) => Some(sa.ip()),
        _ => None,
    };
    let endpoint = resolve_endpoint(
        args.network.host.as_deref(),
        args.network.interface.as_deref(),
        args.network.advertise_host.as_deref(),
        0,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        scheduler_ip,
    )?;
    let nthreads = args
        .nthreads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut config = WorkerConfig::new(scheduler, secret, nthreads);
    config.listen = endpoint.listen;
    config.advertise_host = endpoint.advertise_host;
    config.memory_limit = args
        .memory_limit
        .resolve(node_memory_bytes(), launcher_ranks_on_node().unwrap_or(1));
    (config.memory, config.store) = (memory, store);
    if let Some(name) = &args.name {
        config.name = name.clone();
    }
    config.lifetime = args.lifetime;
    config.resources = args.resources.clone();
    config.job_end = crate::deploy::job_end::batch_job_end();
    config.retire_timeout = args.retire_timeout;
    Ok(config)
}
