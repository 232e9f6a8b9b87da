//! One file per subcommand; each turns parsed arguments into library calls.

pub mod dashboard;
pub mod demo;
mod demo_array;
pub mod demo_tasks;
pub mod eval;
mod eval_outputs;
pub(crate) mod eval_source;
pub mod info;
pub mod job;
pub mod jobqueue;
pub mod launch;
pub mod local;
pub mod mpi;
pub mod scheduler;
pub mod shutdown;
pub mod submit;
pub mod top;
pub mod worker;

use std::time::Duration;

use crate::cli::signals::ShutdownSignal;

/// Poll until `done()` or a shutdown signal; returns true if a signal arrived first.
pub(crate) fn wait_until(signal: &ShutdownSignal, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if signal.received() {
            return true;
        }
        if done() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
