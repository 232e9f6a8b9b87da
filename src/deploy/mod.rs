//! Deployment: the scheduler file, the local cluster, job-queue adapters (MPI roles are in
//! [`crate::mpi`]).
//! This module starts and finds processes; it must not make scheduling decisions.

pub mod host;
pub mod job_end;
pub mod jobqueue;
pub mod local;
pub mod node_memory;
pub mod schedfile;

pub use host::hostname;
pub use local::{LocalCluster, LocalClusterConfig, LocalClusterError, WorkerPlacement};
pub use schedfile::{SchedulerFile, SchedulerFileError, SCHEDULER_FILE_VERSION};
