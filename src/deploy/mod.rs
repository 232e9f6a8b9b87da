//! Deployment: the scheduler file, the local cluster, (later) MPI roles and job-queue adapters.
//! This module starts and finds processes; it must not make scheduling decisions.

pub mod schedfile;

pub use schedfile::{SchedulerFile, SchedulerFileError, SCHEDULER_FILE_VERSION};

pub mod local;

pub use local::{LocalCluster, LocalClusterConfig, LocalClusterError, WorkerPlacement};

/// This machine's host name (`gethostname`), or `localhost` if it cannot be read.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
