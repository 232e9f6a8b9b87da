//! `tessera local`: a scheduler and workers on this machine until Ctrl-C or `tessera shutdown`.

use std::net::SocketAddr;

use anyhow::Context;

use crate::cli::args::LocalArgs;
use crate::cli::signals::ShutdownSignal;
use crate::deploy::{LocalCluster, LocalClusterConfig};
use crate::transport::Address;

pub fn run(args: LocalArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    // Its workers and scheduler file must be cleaned up on a signal.
    signal.watch();
    let started = std::time::Instant::now();
    let mut config = LocalClusterConfig::new(args.workers, args.nthreads);
    let ip: std::net::IpAddr = args.host.parse().map_err(|_| {
        crate::cli::UsageError(format!(
            "--host {:?} is not an IP address (example: 127.0.0.1)",
            args.host
        ))
    })?;
    config.listen = Address::Tcp(SocketAddr::new(ip, args.port));
    config.scheduler_file = args.scheduler_file.clone();
    config.dashboard = args.dashboard.choice();
    config.memory_limit = args.memory_limit.resolve(
        crate::deploy::node_memory::node_memory_bytes(),
        args.workers as u32,
    );
    (config.memory, config.store) = super::worker::memory_settings(&args.spill)?;
    if !args.threads {
        let exe = std::env::current_exe().context("cannot find the tessera executable")?;
        config = config.processes(exe);
    }
    let cluster = LocalCluster::start(config)?;
    let connect = match &args.scheduler_file {
        Some(p) => format!("scheduler file {}", p.display()),
        None => "no scheduler file (use --scheduler-file to connect from other processes)".into(),
    };
    eprintln!(
        "tessera local cluster ready in {} ms: scheduler {}, {} workers x {} threads, {}",
        started.elapsed().as_millis(),
        cluster.address(),
        args.workers,
        args.nthreads,
        connect
    );
    super::wait_until(signal, || cluster.is_finished());
    cluster.shutdown();
    Ok(())
}
