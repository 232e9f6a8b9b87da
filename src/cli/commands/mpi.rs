//! `tessera mpi`: this rank's part of a cluster started by `mpirun`/`srun` (the scheduler on
//! `--scheduler-rank`, workers on the other ranks).

use crate::cli::args::{MpiArgs, TransportArg};
use crate::cli::signals::ShutdownSignal;
use crate::mpi::{DataTransport, MpiConfig};

/// The library configuration for these arguments.
pub fn config(args: MpiArgs) -> MpiConfig {
    MpiConfig {
        scheduler_rank: args.scheduler_rank,
        nthreads: args.nthreads,
        memory_limit: args.memory_limit,
        local_directory: args.local_directory,
        host: args.network.host,
        interface: args.network.interface,
        advertise_host: args.network.advertise_host,
        port: args.port,
        transport: match args.transport {
            TransportArg::Tcp => DataTransport::Tcp,
            TransportArg::Mpi => DataTransport::Mpi,
        },
        scheduler_file: args.scheduler_file,
        startup_timeout: args.startup_timeout,
        worker_timeout: args.worker_timeout,
        dashboard: args.dashboard.choice(),
        ..MpiConfig::default()
    }
}

pub fn run(args: MpiArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    // Every rank must take part in the shutdown.
    signal.watch();
    let config = config(args);
    #[cfg(feature = "mpi")]
    {
        crate::mpi::serve(&config, &|| signal.received())?;
        Ok(())
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = (config, signal);
        Err(crate::mpi::MpiError::NotBuilt.into())
    }
}
