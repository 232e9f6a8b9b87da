//! Deployment: the scheduler file, the local cluster, (later) MPI roles and job-queue adapters.
//! This module starts and finds processes; it must not make scheduling decisions.

pub mod host;
pub mod schedfile;

pub use host::hostname;
pub use schedfile::{SchedulerFile, SchedulerFileError, SCHEDULER_FILE_VERSION};

pub mod local;

pub use local::{LocalCluster, LocalClusterConfig, LocalClusterError, WorkerPlacement};

