//! `tessera worker`: connect to a scheduler through its scheduler file and run tasks.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context;

use crate::cli::args::WorkerArgs;
use crate::cli::network::resolve_endpoint;
use crate::cli::signals::ShutdownSignal;
use crate::deploy::SchedulerFile;
use crate::runtime::{start_worker, WorkerConfig, WorkerError, WorkerExit};
use crate::transport::Address;

/// Total memory of this node from /proc/meminfo (0 if unknown).
pub fn node_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

pub fn run(args: WorkerArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
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
    config.memory_limit = args.memory_limit.resolve(node_memory_bytes(), 1);
    config.connect_timeout = args.connect.timeout;
    if let Some(name) = args.name {
        config.name = name;
    }
    config.lifetime = args.lifetime;
    config.retire_timeout = args.retire_timeout;
    let handle = match start_worker(config) {
        Ok(h) => h,
        Err(WorkerError::Connect(e)) => {
            file.check_alive()?;
            return Err(e).with_context(|| format!("scheduler file {}", path.display()));
        }
        Err(e) => return Err(e.into()),
    };
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
