//! Batch mode: `tessera::mpi::run(config, |client| …)` in a program started with
//! `mpirun -np N ./prog`. The scheduler rank (0) and the worker ranks (2..) serve; rank 1 runs
//! the closure with a client connected to the cluster. When the closure returns, fails or
//! panics, rank 1 asks the cluster to shut down, every rank learns rank 1's exit code over
//! MPI and exits with it after `MPI_Finalize`. The closure's error is printed once, on rank 1.
//!
//! If rank 1 dies instead, the scheduler sees its connection drop and ends the world; a lost
//! worker rank ends it too (see `cluster`). This module must not make scheduling decisions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::runtime::Client;
use crate::transport::Address;

use super::cluster::{run_scheduler, run_worker};
use super::layout::{Layout, Role};
use super::roles::batch_client_name;
use super::world::MpiWorld;
use super::{MpiConfig, MpiError};

/// Exit code when the closure returns an error.
const CLOSURE_FAILED: u8 = 1;
/// Exit code when the closure panics (as for a Rust program that panics).
const CLOSURE_PANICKED: u8 = 101;

/// Run `main` on rank 1 of the MPI world with a client of a cluster made of the other ranks;
/// returns the job's exit code on every rank. Call it from `main` and return what it returns.
///
/// The exit code is 0 when `main` returns `Ok`, 1 when it returns an error (printed once, on
/// rank 1, as `tessera: error: …`), 101 when it panics, and 2 when the world is too small
/// (fewer than 3 ranks) or the launcher does not match the MPI library.
///
/// ```no_run
/// use tessera::mpi::{run, MpiConfig};
/// use tessera::runtime::kernels_builtin::names;
///
/// fn main() -> std::process::ExitCode {
///     run(MpiConfig::default(), |client| {
///         let xs = client.map::<i64, i64>(names::INC, 0..100)?;
///         let total: i64 = client.gather(&xs)?.iter().sum();
///         println!("{total}");
///         Ok::<(), tessera::runtime::ClientError>(())
///     })
/// }
/// ```
pub fn run<F, E>(config: MpiConfig, main: F) -> ExitCode
where
    F: FnOnce(&Client) -> Result<(), E>,
    E: std::fmt::Display,
{
    ExitCode::from(run_code(&config, main))
}

fn run_code<F, E>(config: &MpiConfig, main: F) -> u8
where
    F: FnOnce(&Client) -> Result<(), E>,
    E: std::fmt::Display,
{
    let world = match MpiWorld::start() {
        Ok(w) => w,
        Err(e) => return report(e),
    };
    if let Err(e) = world.check_launcher() {
        drop(world);
        return report(e);
    }
    let layout = match world.accept_layout(Layout::batch(world.facts().size, config.scheduler_rank))
    {
        Ok(l) => l,
        Err(e) => {
            drop(world);
            return report(e);
        }
    };
    let client_rank = layout.client.unwrap_or(1);
    let code = match layout.role(world.rank()) {
        Role::Scheduler => run_scheduler(
            config,
            &world,
            &layout,
            &|| false,
            Some(batch_client_name(client_rank)),
        ),
        Role::Worker => run_worker(config, &world, layout.scheduler),
        Role::Client => run_client(config, &world, &layout, main),
    };
    world.agree_exit_code(client_rank, code)
}

/// Print an error unless another rank does; its exit code.
fn report(e: MpiError) -> u8 {
    if !matches!(e, MpiError::ReportedElsewhere { .. }) {
        eprintln!("tessera: error: {e}");
    }
    e.exit_code()
}

fn run_client<F, E>(config: &MpiConfig, world: &MpiWorld, layout: &Layout, main: F) -> u8
where
    F: FnOnce(&Client) -> Result<(), E>,
    E: std::fmt::Display,
{
    world.gather_hosts(layout.scheduler);
    let announcement = match world.announce(layout.scheduler, None) {
        Ok(a) => a,
        Err(_) => return 1, // the scheduler rank printed why
    };
    let connected = announcement
        .address
        .parse::<Address>()
        .map_err(|e| e.to_string())
        .and_then(|address| {
            let secret = crate::protocol::Secret::from_hex(&announcement.secret)
                .ok_or_else(|| "the announced secret is not 64 hex digits".to_string())?;
            Client::connect_as(
                &address,
                &secret,
                Duration::from_secs(60),
                &batch_client_name(world.rank()),
            )
            .map_err(|e| e.to_string())
        });
    let client = match connected {
        Ok(c) => c,
        Err(e) => world.fail(format!("cannot connect to the scheduler: {e}"), 1),
    };
    if let Err(e) = client.wait_for_workers(layout.workers() as usize, config.startup_timeout) {
        world.fail(
            format!(
                "the {} worker ranks did not all register: {e}",
                layout.workers()
            ),
            1,
        );
    }
    let code = match catch_unwind(AssertUnwindSafe(|| main(&client))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("tessera: error: {e:#}");
            CLOSURE_FAILED
        }
        // The panic hook already printed the message and location.
        Err(_) => CLOSURE_PANICKED,
    };
    client.shutdown_cluster();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.is_connected() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    client.close();
    code
}
