//! `tessera worker`: connect to a scheduler through its scheduler file and run tasks.

use std::net::{IpAddr, Ipv4Addr};

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

pub fn run(args: WorkerArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let (memory, store) = memory_settings(&args.spill)?;
    let path = &args.connect.scheduler_file;
    let file = SchedulerFile::wait(path, args.connect.timeout)?;
    let scheduler = file.address()?;
    let secret = file.secret()?;
    let scheduler_ip = match &scheduler {
        Address::Tcp(sa) => Some(sa.ip()),
        _ => None,
    };
    let endpoint = resolve_endpoint(
        args.network.host.as_deref(),
        args.network.interface.as_deref(),
        0,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        scheduler_ip,
    )?;
    let nthreads = args
        .nthreads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut config = WorkerConfig::new(scheduler.clone(), secret, nthreads);
    config.listen = endpoint.listen;
    config.advertise_host = endpoint.advertise_host;
    config.memory_limit = args
        .memory_limit
        .resolve(node_memory_bytes(), launcher_ranks_on_node().unwrap_or(1));
    (config.memory, config.store) = (memory, store);
    config.connect_timeout = args.connect.timeout;
    if let Some(name) = args.name {
        config.name = name;
    }
    config.lifetime = args.lifetime;
    config.job_end = crate::deploy::job_end::batch_job_end();
    config.retire_timeout = args.retire_timeout;
    let handle = match start_worker(config) {
        Ok(h) => h,
        Err(WorkerError::Connect(e)) => {
            file.check_alive()?;
            return Err(e).with_context(|| format!("scheduler file {}", path.display()));
        }
        Err(e) => return Err(e.into()),
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
