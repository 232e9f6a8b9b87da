//! `tessera mpi`: the scheduler on one rank, workers on all others, until a client asks the
//! cluster to shut down (`tessera shutdown --scheduler-file …`) or the scheduler rank gets
//! SIGINT/SIGTERM. The scheduler- and worker-rank bodies here are shared with batch mode.
//!
//! Exits: when every rank is alive, they agree on the scheduler's exit code and finalize; when
//! a worker rank is lost, the scheduler rank prints which rank and what it was running and
//! aborts the world (a dead rank cannot take part in `MPI_Finalize`). This module must not
//! make scheduling decisions.

use std::time::Duration;

use crate::runtime::{StopCause, WorkerExit};

use super::layout::{Layout, Role};
use super::reach::unreachable_from;
use super::roles::{publish_when_ready, start_scheduler_role, start_worker_role, StartError};
use super::world::{Announcement, MpiWorld};
use super::{MpiConfig, MpiError};

/// Exit code of a run stopped by SIGINT/SIGTERM.
const INTERRUPTED: u8 = 130;

/// Run this rank's part of `mpirun -np N tessera mpi`. Returns when the cluster has shut
/// down. `interrupted` is polled on the scheduler rank (SIGINT/SIGTERM: shut the cluster down).
///
/// Errors from start-up checks are returned on one rank and as
/// [`MpiError::ReportedElsewhere`] on the others; failures after start-up end the whole world
/// with `MPI_Abort` after one message.
pub fn serve(config: &MpiConfig, interrupted: &dyn Fn() -> bool) -> Result<(), MpiError> {
    let world = MpiWorld::start()?;
    world.check_launcher()?;
    let layout = world.accept_layout(Layout::cluster(world.facts().size, config.scheduler_rank))?;
    let code = match layout.role(world.rank()) {
        Role::Scheduler => run_scheduler(config, &world, &layout, interrupted, None),
        Role::Worker | Role::Client => run_worker(config, &world, layout.scheduler),
    };
    let code = world.agree_exit_code(layout.scheduler, code);
    drop(world);
    match code {
        0 => Ok(()),
        code => Err(MpiError::ReportedElsewhere { code }),
    }
}

/// The scheduler rank: start, announce, publish, wait, and say how it ended (exit code), or
/// abort the world when a worker rank (or the batch client) was lost.
pub(super) fn run_scheduler(
    config: &MpiConfig,
    world: &MpiWorld,
    layout: &Layout,
    interrupted: &dyn Fn() -> bool,
    batch_client: Option<String>,
) -> u8 {
    let started = start_scheduler_role(config, batch_client);
    // Every rank tells where it runs; a loopback address with ranks elsewhere fails now.
    let hosts = world.gather_hosts(layout.scheduler);
    let started = started.and_then(|(handle, secret)| {
        let address = handle.address().to_string();
        match unreachable_from(&address, layout.scheduler as usize, &hosts) {
            None => Ok((handle, secret)),
            Some(why) => {
                handle.shutdown("its address cannot be reached from every rank");
                let _ = handle.join();
                Err(StartError {
                    message: why,
                    code: 2,
                })
            }
        }
    });
    let announcement = match &started {
        Ok((handle, secret)) => Ok(Announcement {
            address: handle.address().to_string(),
            secret: secret.to_hex(),
        }),
        Err(e) => Err(e.message.clone()),
    };
    // Every rank learns the outcome; when the scheduler could not start, all exit cleanly.
    let announced = world.announce(layout.scheduler, Some(announcement));
    let (handle, secret) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!(
                "tessera: MPI rank {}: cannot start the scheduler: {}",
                world.rank(),
                e.message
            );
            return e.code;
        }
    };
    if let Err(e) = announced {
        world.fail(format!("cannot announce the scheduler: {e}"), 1);
    }
    let published =
        match publish_when_ready(config, &handle, &secret, layout.workers(), interrupted) {
            Ok(p) => p,
            Err(e) => world.fail(format!("cannot write the scheduler file: {e}"), 1),
        };
    tracing::info!(
        address = %handle.address(),
        workers = handle.registered_workers(),
        scheduler_file = ?published,
        "MPI cluster ready"
    );
    let mut code = 0;
    while !handle.is_finished() {
        if interrupted() {
            handle.shutdown("the scheduler rank was interrupted (SIGINT/SIGTERM)");
            code = INTERRUPTED;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let cause = handle.stop_cause();
    let _ = handle.join();
    if let Some(path) = &published {
        let _ = crate::deploy::SchedulerFile::remove(path);
    }
    match cause {
        Some(StopCause::WorkerLost(lost)) => world.fail(format!("{lost}; ending the MPI run"), 1),
        Some(StopCause::ClientLost(name)) => world.fail(
            format!("the batch client ({name}) disconnected before finishing; ending the MPI run"),
            1,
        ),
        Some(StopCause::Requested(reason)) => {
            tracing::info!(%reason, "scheduler stopped");
            code
        }
        None => code,
    }
}

/// A worker rank: learn the scheduler from the announcement, run until told to stop.
pub(super) fn run_worker(config: &MpiConfig, world: &MpiWorld, scheduler_rank: u32) -> u8 {
    world.gather_hosts(scheduler_rank);
    let announcement = match world.announce(scheduler_rank, None) {
        Ok(a) => a,
        // The scheduler rank printed why.
        Err(_) => return 1,
    };
    let handle = match start_worker_role(config, world, &announcement) {
        Ok(h) => h,
        Err(e) => world.fail(format!("cannot start the worker: {e}"), 1),
    };
    match handle.join() {
        Ok(WorkerExit::SchedulerShutdown(_)) | Ok(WorkerExit::Stopped) => 0,
        Err(e) => world.fail(e, 1),
    }
}
