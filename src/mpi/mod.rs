//! Tessera under MPI: `mpirun -np N tessera mpi` and batch-mode programs.
//!
//! - **`tessera mpi`** ([`serve`]): rank 0 (or `--scheduler-rank R`) runs the scheduler, every
//!   other rank a worker; external clients connect through the scheduler file.
//! - **Batch mode** ([`run`]): a program calls `tessera::mpi::run(config, |client| …)` and is
//!   started with `mpirun -np N ./prog`: rank 0 runs the scheduler, rank 1 the closure with a
//!   connected client, ranks 2.. are workers. When the closure returns (or fails, or panics)
//!   every rank exits, with the closure's outcome as the job's exit code.
//!
//! The control plane is TCP (the scheduler's address and the cluster secret travel over
//! `MPI_Bcast`, so no shared filesystem is needed). With [`DataTransport::Mpi`] chunk
//! transfers between workers, and between workers and a client in the same MPI world, travel
//! as MPI point-to-point messages (see `transport::mpi`). Every rank divides its node's cores
//! and memory by the ranks on that node ([`node`]); a launcher that does not match the MPI
//! library is detected ([`launcher`]); a world too small for its layout is refused
//! ([`layout`]). A dead worker rank ends the run with a message naming the rank and its tasks.
//!
//! This module starts roles and moves them through start-up and shutdown; it must not make
//! scheduling decisions.
//!
//! ```no_run
//! use tessera::mpi::MpiConfig;
//! use tessera::runtime::Task;
//!
//! fn main() -> std::process::ExitCode {
//!     let config = MpiConfig::from_env().unwrap_or_default();
//!     tessera::mpi::run(config, |client| {
//!         let x = client.submit::<i64>(Task::new("tessera.inc").arg(41i64))?;
//!         println!("{}", x.result()?);
//!         Ok::<(), tessera::runtime::ClientError>(())
//!     })
//! }
//! ```

pub mod launcher;
pub mod layout;
pub mod node;

#[cfg(feature = "mpi")]
mod batch;
#[cfg(feature = "mpi")]
mod cluster;
#[cfg(feature = "mpi")]
mod reach;
#[cfg(feature = "mpi")]
mod roles;
#[cfg(feature = "mpi")]
mod world;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

#[cfg(feature = "mpi")]
pub use batch::run;
#[cfg(feature = "mpi")]
pub use cluster::serve;
pub use launcher::LauncherMismatch;
pub use layout::{Layout, LayoutError, Role};
pub use node::NodeShare;

use crate::units::MemoryLimit;

/// Which transport carries chunk data between workers and clients. The control plane
/// (scheduler ↔ workers and clients) is always TCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataTransport {
    /// TCP, on the interface chosen with `--interface`/`--host`.
    #[default]
    Tcp,
    /// MPI point-to-point messages between ranks of the world (TCP stays available for
    /// clients outside it).
    Mpi,
}

impl FromStr for DataTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok(DataTransport::Tcp),
            "mpi" => Ok(DataTransport::Mpi),
            other => Err(format!("unknown transport {other:?}; expected tcp or mpi")),
        }
    }
}

/// How to run Tessera inside an MPI world.
#[derive(Clone, Debug)]
pub struct MpiConfig {
    /// The rank that runs the scheduler (default 0).
    pub scheduler_rank: u32,
    /// Task threads per worker rank (default: the node's cores divided by its ranks).
    pub nthreads: Option<usize>,
    /// Memory per worker rank (default `auto`: the node's memory, cgroup-capped, divided by
    /// its ranks).
    pub memory_limit: MemoryLimit,
    /// Node-local directory for worker scratch and spill files; each rank uses
    /// `<dir>/tessera-rank-<r>`, created at start.
    pub local_directory: Option<PathBuf>,
    /// Listen on this host name or IP (scheduler and data servers).
    pub host: Option<String>,
    /// Listen on this network interface's address (for example `ib0`).
    pub interface: Option<String>,
    /// Publish this host name for the scheduler rank instead of the chosen address.
    pub advertise_host: Option<String>,
    /// The scheduler's TCP port (0 picks a free one).
    pub port: u16,
    /// Transport of chunk data.
    pub transport: DataTransport,
    /// Also publish the cluster in this scheduler file (for clients outside the world).
    pub scheduler_file: Option<PathBuf>,
    /// How long the scheduler waits for every worker rank to register.
    pub startup_timeout: Duration,
    /// A worker silent for this long counts as dead.
    pub worker_timeout: Duration,
    /// Tasks per worker thread before the rest wait at the scheduler.
    pub saturation: f64,
    /// Where the scheduler's web dashboard listens (or none).
    pub dashboard: crate::runtime::DashboardChoice,
}

impl Default for MpiConfig {
    fn default() -> Self {
        MpiConfig {
            scheduler_rank: 0,
            nthreads: None,
            memory_limit: MemoryLimit::Auto,
            local_directory: None,
            host: None,
            interface: None,
            advertise_host: None,
            port: 0,
            transport: DataTransport::Tcp,
            scheduler_file: None,
            startup_timeout: Duration::from_secs(120),
            worker_timeout: Duration::from_secs(60),
            saturation: 2.0,
            dashboard: Default::default(),
        }
    }
}

impl MpiConfig {
    /// Defaults overridden by `TESSERA_*` environment variables (the same names as the
    /// `tessera mpi` flags): `TESSERA_SCHEDULER_RANK`, `TESSERA_NTHREADS`,
    /// `TESSERA_MEMORY_LIMIT`, `TESSERA_LOCAL_DIRECTORY`, `TESSERA_HOST`, `TESSERA_INTERFACE`,
    /// `TESSERA_ADVERTISE_HOST`,
    /// `TESSERA_PORT`, `TESSERA_TRANSPORT`, `TESSERA_SCHEDULER_FILE`. So a batch program can be
    /// steered with `mpirun -x TESSERA_TRANSPORT=mpi ./prog`.
    pub fn from_env() -> Result<MpiConfig, MpiError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`MpiConfig::from_env`] over any variable lookup (for tests).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<MpiConfig, MpiError> {
        fn parse<T: FromStr>(
            env: &impl Fn(&str) -> Option<String>,
            variable: &'static str,
            what: &str,
        ) -> Result<Option<T>, MpiError>
        where
            T::Err: std::fmt::Display,
        {
            match env(variable) {
                None => Ok(None),
                Some(value) if value.trim().is_empty() => Ok(None),
                Some(value) => value
                    .trim()
                    .parse::<T>()
                    .map(Some)
                    .map_err(|e| MpiError::Config {
                        variable,
                        value: value.clone(),
                        reason: format!("{e} (expected {what})"),
                    }),
            }
        }
        let mut config = MpiConfig::default();
        if let Some(r) = parse(&env, "TESSERA_SCHEDULER_RANK", "a rank such as 0")? {
            config.scheduler_rank = r;
        }
        config.nthreads = parse::<usize>(&env, "TESSERA_NTHREADS", "a whole number ≥ 1")?;
        if config.nthreads == Some(0) {
            return Err(MpiError::Config {
                variable: "TESSERA_NTHREADS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if let Some(m) = parse(&env, "TESSERA_MEMORY_LIMIT", "4GiB, 0.25, auto or none")? {
            config.memory_limit = m;
        }
        config.local_directory = env("TESSERA_LOCAL_DIRECTORY")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from);
        config.host = env("TESSERA_HOST").filter(|v| !v.trim().is_empty());
        config.interface = env("TESSERA_INTERFACE").filter(|v| !v.trim().is_empty());
        config.advertise_host = env("TESSERA_ADVERTISE_HOST").filter(|v| !v.trim().is_empty());
        if let Some(port) = parse(&env, "TESSERA_PORT", "a TCP port")? {
            config.port = port;
        }
        if let Some(t) = parse(&env, "TESSERA_TRANSPORT", "tcp or mpi")? {
            config.transport = t;
        }
        config.scheduler_file = env("TESSERA_SCHEDULER_FILE")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from);
        Ok(config)
    }
}

/// Running under MPI failed.
#[derive(Debug, thiserror::Error)]
pub enum MpiError {
    #[error("environment variable {variable}={value:?}: {reason}")]
    Config {
        variable: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot start MPI: {0}")]
    Start(String),
    #[error(transparent)]
    Launcher(#[from] LauncherMismatch),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Another rank reports the problem; this one only exits with `code`.
    #[error("another rank reported the error")]
    ReportedElsewhere { code: u8 },
    #[error("this tessera was built without MPI support (the `mpi` cargo feature)")]
    NotBuilt,
}

impl MpiError {
    /// The process exit code for this error (2 for a bad invocation, 1 otherwise).
    pub fn exit_code(&self) -> u8 {
        match self {
            MpiError::Config { .. } | MpiError::Launcher(_) | MpiError::Layout(_) => 2,
            MpiError::ReportedElsewhere { code } => *code,
            MpiError::Start(_) | MpiError::NotBuilt => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment of `pairs`, as the `from_lookup`/`env` functions of this module read it.
    pub(super) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn environment_overrides_defaults() {
        let config = MpiConfig::from_lookup(lookup(&[
            ("TESSERA_TRANSPORT", "MPI"),
            ("TESSERA_NTHREADS", "3"),
            ("TESSERA_MEMORY_LIMIT", "2GiB"),
            ("TESSERA_SCHEDULER_RANK", "2"),
            ("TESSERA_INTERFACE", "ib0"),
            ("TESSERA_SCHEDULER_FILE", "/tmp/s.json"),
        ]))
        .unwrap();
        assert_eq!(config.transport, DataTransport::Mpi);
        assert_eq!(config.nthreads, Some(3));
        assert_eq!(config.memory_limit, MemoryLimit::Bytes(2 << 30));
        assert_eq!(config.scheduler_rank, 2);
        assert_eq!(config.interface.as_deref(), Some("ib0"));
        assert_eq!(config.scheduler_file, Some(PathBuf::from("/tmp/s.json")));
        let defaults = MpiConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(defaults.transport, DataTransport::Tcp);
        assert_eq!(defaults.memory_limit, MemoryLimit::Auto);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            ("TESSERA_TRANSPORT", "udp"),
            ("TESSERA_NTHREADS", "0"),
            ("TESSERA_NTHREADS", "many"),
            ("TESSERA_MEMORY_LIMIT", "lots"),
        ] {
            let error = MpiConfig::from_lookup(lookup(&[(variable, value)])).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(variable), "{text}");
            assert_eq!(error.exit_code(), 2);
        }
    }
}
