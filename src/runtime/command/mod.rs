//! Command tasks: a task that runs a program on a worker (argv, environment, working
//! directory, stdin from a file, stdout/stderr to files named with placeholders, a time limit
//! that kills the process group). The exit code decides success; a failure carries the last
//! lines of standard error. The program's environment has `TESSERA_TASK_ID`,
//! `TESSERA_ARRAY_INDEX`, `TESSERA_CPUS` (see docs/commands.md).
//!
//! A command task is an ordinary task of the [`COMMAND_KERNEL`] kernel whose argument bytes
//! are a [`CommandSpec`]; it runs on an executor thread, never the worker's control thread.
//! This module must not decide placement or know about jobs.

pub mod placeholders;
mod process;
mod spec;
pub mod stderr_tail;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::kernel::{Kernel, KernelContext, KernelError, RunPlace};
pub use process::{run_command, CommandFailure};
pub use spec::{CommandSpec, SpecDecodeError};

/// The kernel name of command tasks.
pub const COMMAND_KERNEL: &str = "tessera.command";

/// Register the command kernel.
pub(crate) fn install(map: &mut HashMap<String, Kernel>) {
    map.insert(COMMAND_KERNEL.to_string(), Arc::new(command_kernel));
}

/// Runs the program; the result is its exit code (0) as a little-endian `i64`.
fn command_kernel(ctx: &KernelContext<'_>, _inputs: &[Bytes]) -> Result<Bytes, KernelError> {
    let spec = CommandSpec::decode(ctx.args)
        .map_err(|e| KernelError::new(format!("task {}: {e}", ctx.key)))?;
    let outside = RunPlace {
        worker: crate::deploy::hostname(),
        ..RunPlace::default()
    };
    run_command(&spec, ctx.place.unwrap_or(&outside))
        .map_err(|e| KernelError::new(e.to_string()))?;
    Ok(Bytes::copy_from_slice(&0i64.to_le_bytes()))
}
