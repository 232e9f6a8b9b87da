//! `tessera launch`: start every role of a cluster from one command run once per task of an
//! allocation, without MPI: `srun tessera launch --scheduler-file F` (also `pbsdsh`, or
//! `mpirun` used only as a process starter). Rank 0 runs the scheduler and writes the
//! scheduler file; rank 1 runs `--client-command` when given (the cluster stops when it exits);
//! every other rank runs a worker.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::cli::args::{ConnectArgs, NetworkArgs, SchedulerArgs, WorkerArgs};
use crate::cli::jobqueue_args::LaunchArgs;
use crate::cli::signals::ShutdownSignal;
use crate::cli::UsageError;
use crate::deploy::SchedulerFile;
use crate::runtime::Client;
use crate::units::MemoryLimit;

/// Environment variables that carry a task's rank, in the order they are tried.
const RANK_VARIABLES: [&str; 5] = [
    "SLURM_PROCID",
    "PBS_VNODENUM",
    "OMPI_COMM_WORLD_RANK",
    "PMIX_RANK",
    "PMI_RANK",
];

/// This task's rank and the variable it came from.
fn rank() -> anyhow::Result<(u32, &'static str)> {
    for name in RANK_VARIABLES {
        if let Ok(text) = std::env::var(name) {
            let rank = text
                .trim()
                .parse::<u32>()
                .with_context(|| format!("{name}={text:?} is not a rank"))?;
            return Ok((rank, name));
        }
    }
    bail!(UsageError(format!(
        "cannot tell this process's rank: none of {} is set; run it as `srun tessera launch …` \
         (SLURM), `pbsdsh` (PBS) or under `mpirun`. Grid Engine has no per-task rank: start \
         `tessera scheduler` and `tessera worker` yourself (see docs/jobqueue.md)",
        RANK_VARIABLES.join(", ")
    )))
}

pub fn run(args: LaunchArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let launched = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let (rank, variable) = rank()?;
    let memory_limit: MemoryLimit = args
        .memory_limit
        .parse()
        .map_err(|e| UsageError(format!("--memory-limit: {e}")))?;
    tracing::info!(rank, variable, "tessera launch");
    let network = NetworkArgs {
        host: None,
        interface: args.interface.clone(),
        advertise_host: None,
    };
    if rank == 0 {
        return super::scheduler::run(
            SchedulerArgs {
                journal: None,
                scheduler_file: args.scheduler_file,
                network,
                port: 0,
                worker_timeout: Duration::from_secs(60),
                no_workers_grace: Some(Duration::from_secs(60)),
                saturation: 2.0,
                dashboard: args.dashboard,
            },
            signal,
        );
    }
    // A file left by an earlier run must not be mistaken for this run's.
    wait_fresh(&args.scheduler_file, launched - 10.0, args.timeout)?;
    if rank == 1 {
        if let Some(command) = &args.client_command {
            return run_client(command, &args.scheduler_file, args.timeout);
        }
    }
    super::worker::run(
        WorkerArgs {
            connect: ConnectArgs {
                scheduler_file: args.scheduler_file,
                timeout: args.timeout,
            },
            nthreads: args.nthreads,
            memory_limit,
            name: Some(format!("rank-{rank}")),
            resources: Vec::new(),
            network,
            lifetime: args.lifetime,
            retire_timeout: Duration::from_secs(60),
            spill: args.spill,
        },
        signal,
    )
}

/// Wait until the scheduler file exists and was written after `since` (Unix seconds).
fn wait_fresh(path: &Path, since: f64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(file) = SchedulerFile::read(path) {
            if file.started >= since {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "scheduler file {} was not written by rank 0 within {timeout:?}",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run the client command, then stop the cluster; fail when the command failed.
fn run_client(command: &str, scheduler_file: &Path, timeout: Duration) -> anyhow::Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("TESSERA_SCHEDULER_FILE", scheduler_file)
        .status()
        .with_context(|| format!("cannot run the client command {command:?}"))?;
    if let Ok(client) = Client::from_scheduler_file(scheduler_file, timeout) {
        client.shutdown_cluster();
        client.close();
    }
    if !status.success() {
        bail!("the client command {command:?} failed ({status})");
    }
    Ok(())
}
