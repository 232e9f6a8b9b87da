//! Deployment: the scheduler file, the local cluster, (later) MPI roles and job-queue adapters.
//! This module starts and finds processes; it must not make scheduling decisions.

pub mod jobqueue;
pub mod schedfile;

pub use schedfile::{SchedulerFile, SchedulerFileError, SCHEDULER_FILE_VERSION};
