//! `tessera scheduler`: run a scheduler and publish it through a scheduler file.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{bail, Context};

use crate::cli::args::SchedulerArgs;
use crate::cli::signals::ShutdownSignal;
use crate::deploy::schedfile::SchedulerFile;
use crate::protocol::Secret;
use crate::runtime::{start_scheduler, SchedulerServerConfig};
use crate::transport::resolve_endpoint;

pub fn run(args: SchedulerArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    // It writes a scheduler file: a signal from now on removes it (clean shutdown).
    signal.watch();
    let path = &args.scheduler_file;
    if let Ok(existing) = SchedulerFile::read(path) {
        if existing.check_alive().is_ok() {
            bail!(
                "scheduler file {} belongs to a running scheduler (pid {} on {}, {}); stop it \
                 with `tessera shutdown --scheduler-file {}` or choose another file",
                path.display(),
                existing.pid,
                existing.host,
                existing.address,
                path.display()
            );
        }
    }
    if !(args.saturation > 0.0 && args.saturation.is_finite()) {
        bail!(crate::cli::UsageError(format!(
            "--saturation {} must be a positive number (example: 2)",
            args.saturation
        )));
    }
    let endpoint = resolve_endpoint(
        args.network.host.as_deref(),
        args.network.interface.as_deref(),
        args.network.advertise_host.as_deref(),
        args.port,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None,
    )?;
    let secret = Secret::generate();
    let mut config = SchedulerServerConfig::new(endpoint.listen, secret.clone());
    config.advertise_host = endpoint.advertise_host;
    config.worker_timeout = args.worker_timeout;
    config.no_workers_grace = args.no_workers_grace;
    config.policy.saturation = args.saturation;
    config.journal = args.journal.clone();
    config.dashboard = args.dashboard.choice().resolve(&config.listen);
    let handle = match start_scheduler(config) {
        Ok(h) => h,
        Err(crate::runtime::ServerError::Journal(why)) => {
            bail!(crate::cli::UsageError(why))
        }
        Err(e) => return Err(e.into()),
    };
    let mut file = SchedulerFile::new(handle.address().to_string(), secret.to_hex());
    file.services.extend(handle.services());
    file.write(path).context("cannot publish the scheduler")?;
    eprintln!(
        "tessera scheduler listening at {} (scheduler file {})",
        handle.address(),
        path.display()
    );
    let interrupted = super::wait_until(signal, || handle.is_finished());
    if interrupted {
        handle.shutdown("the scheduler was interrupted (SIGINT/SIGTERM)");
    }
    let reason = handle.join()?;
    let _ = SchedulerFile::remove(path);
    tracing::info!(%reason, "scheduler stopped");
    Ok(())
}
