//! `tessera demo`: start a local cluster of worker processes and run a workload on it with a
//! progress bar — an array analysis (default, see `demo_array`) or a plain task graph
//! (`--workload tasks`, see `demo_tasks`) — then check the answer and print a summary.

use crate::cli::args::{DemoArgs, DemoWorkload};
use crate::cli::signals::ShutdownSignal;

pub fn run(args: DemoArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    match args.workload {
        DemoWorkload::Array => super::demo_array::run(&args, signal),
        DemoWorkload::Tasks => super::demo_tasks::run(&args, signal),
    }
}
