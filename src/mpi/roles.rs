//! Starting the roles of an MPI run: the scheduler (TCP control plane, configured to end the
//! run when a worker rank is lost), the scheduler file once every worker has registered, and
//! a worker named `rank-<r>` with its share of the node (and an `mpi://` data route when the
//! MPI data transport is on).
//!
//! This module must not run collectives or decide exit codes (that is `world` and the modes).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::deploy::SchedulerFile;
use crate::protocol::Secret;
use crate::runtime::{
    start_scheduler, start_worker, SchedulerHandle, SchedulerServerConfig, WorkerConfig,
    WorkerHandle,
};
use crate::transport::resolve_endpoint;
use crate::transport::Address;

use super::node::NodeShare;
use super::world::{Announcement, MpiWorld};
use super::{DataTransport, MpiConfig};

/// The name a worker rank registers with.
pub(super) fn worker_name(rank: u32) -> String {
    format!("rank-{rank}")
}

/// The name the batch client registers with (the scheduler stops if it leaves).
pub(super) fn batch_client_name(rank: u32) -> String {
    format!("mpi-batch-client-rank-{rank}")
}

/// Why the scheduler rank could not start, and the run's exit code (2 when the flags are at
/// fault: an unknown interface, no address every rank can reach).
#[derive(Debug)]
pub(super) struct StartError {
    pub message: String,
    pub code: u8,
}

impl StartError {
    fn failure(message: String) -> StartError {
        StartError { message, code: 1 }
    }
}

/// Start the scheduler on TCP with a fresh secret.
pub(super) fn start_scheduler_role(
    config: &MpiConfig,
    batch_client: Option<String>,
) -> Result<(SchedulerHandle, Secret), StartError> {
    if let Some(path) = &config.scheduler_file {
        if let Ok(existing) = SchedulerFile::read(path) {
            if existing.check_alive().is_ok() {
                return Err(StartError::failure(format!(
                    "scheduler file {} belongs to a running scheduler (pid {} on {}, {}); stop \
                     it with `tessera shutdown --scheduler-file {}` or choose another file",
                    path.display(),
                    existing.pid,
                    existing.host,
                    existing.address,
                    path.display()
                )));
            }
        }
    }
    let endpoint = resolve_endpoint(
        config.host.as_deref(),
        config.interface.as_deref(),
        config.advertise_host.as_deref(),
        config.port,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None,
    )
    .map_err(|e| StartError {
        message: e.to_string(),
        code: if e.is_usage() { 2 } else { 1 },
    })?;
    let secret = Secret::generate();
    let mut server = SchedulerServerConfig::new(endpoint.listen, secret.clone());
    server.advertise_host = endpoint.advertise_host;
    server.worker_timeout = config.worker_timeout;
    server.policy.saturation = config.saturation;
    server.exit_on_worker_loss = true;
    server.stop_when_client_leaves = batch_client;
    server.dashboard = config.dashboard.resolve(&server.listen);
    let handle = start_scheduler(server).map_err(|e| StartError::failure(e.to_string()))?;
    Ok((handle, secret))
}

/// Wait until `workers` workers have registered (or the scheduler stopped, or `interrupted`,
/// or the start-up timeout), then write the scheduler file if one was asked for. Returns the
/// file written.
pub(super) fn publish_when_ready(
    config: &MpiConfig,
    handle: &SchedulerHandle,
    secret: &Secret,
    workers: u32,
    interrupted: &dyn Fn() -> bool,
) -> Result<Option<PathBuf>, String> {
    let deadline = Instant::now() + config.startup_timeout;
    while handle.registered_workers() < workers as usize {
        if handle.is_finished() || interrupted() {
            return Ok(None);
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                registered = handle.registered_workers(),
                expected = workers,
                "not every worker rank registered in time; publishing the scheduler anyway"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let Some(path) = &config.scheduler_file else {
        return Ok(None);
    };
    let mut file = SchedulerFile::new(handle.address().to_string(), secret.to_hex());
    file.services.extend(handle.services());
    file.write(path).map_err(|e| e.to_string())?;
    Ok(Some(path.clone()))
}

/// Create this rank's scratch directory under `--local-directory`.
pub(super) fn local_directory(config: &MpiConfig, rank: u32) -> Result<Option<PathBuf>, String> {
    let Some(base) = &config.local_directory else {
        return Ok(None);
    };
    let dir = base.join(format!("tessera-rank-{rank}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create --local-directory {}: {e}", dir.display()))?;
    Ok(Some(dir))
}

/// Start this rank's worker for the announced scheduler.
pub(super) fn start_worker_role(
    config: &MpiConfig,
    world: &MpiWorld,
    announcement: &Announcement,
) -> Result<WorkerHandle, String> {
    let facts = world.facts();
    let scheduler: Address = announcement
        .address
        .parse()
        .map_err(|e| format!("the scheduler's address: {e}"))?;
    let secret = Secret::from_hex(&announcement.secret)
        .ok_or_else(|| "the announced cluster secret is not 64 hex digits".to_string())?;
    let scheduler_ip = match &scheduler {
        Address::Tcp(sa) => Some(sa.ip()),
        _ => None,
    };
    let endpoint = resolve_endpoint(
        config.host.as_deref(),
        config.interface.as_deref(),
        None,
        0,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        scheduler_ip,
    )
    .map_err(|e| e.to_string())?;
    local_directory(config, facts.rank)?;
    let share = NodeShare::measure(facts.ranks_on_node);
    let nthreads = config.nthreads.unwrap_or_else(|| share.nthreads());
    let mut worker = WorkerConfig::new(scheduler, secret, nthreads);
    worker.memory_limit = share.memory_limit(config.memory_limit);
    worker.listen = endpoint.listen;
    worker.advertise_host = endpoint.advertise_host;
    worker.name = worker_name(facts.rank);
    worker.connect_timeout = Duration::from_secs(60);
    worker.job_end = crate::deploy::job_end::batch_job_end();
    if config.transport == DataTransport::Mpi {
        worker.also_listen.push(Address::Mpi {
            world: facts.world_id,
            rank: facts.rank,
        });
    }
    tracing::info!(
        rank = facts.rank,
        nthreads,
        memory_limit = ?worker.memory_limit,
        ranks_on_node = facts.ranks_on_node,
        node_rank = facts.node_rank,
        node = %facts.processor_name,
        "starting worker"
    );
    start_worker(worker).map_err(|e| e.to_string())
}
