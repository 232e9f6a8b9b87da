//! The drivers: the scheduler server, the worker and the client. They move bytes between the
//! transports and the pure core, run kernels, and hold data. They must not make scheduling
//! decisions (that is [`crate::core`]).

mod accept_guard;
pub mod client;
pub mod command;
pub mod kernel;
pub mod kernels_builtin;
mod no_workers;
pub mod peer_pool;
pub mod scheduler_server;
pub mod scheduler_view;
pub mod sum_tree;
pub mod value;
pub mod worker;

pub use client::{AsCompleted, Client, ClientError, Future, KeyStatus, Task};
pub use kernel::{
    call_kernel, in_kernel, kernel_names, lookup_kernel, panic_text, register_kernel,
    KernelContext, KernelError,
};
pub use scheduler_server::{
    start_scheduler, DashboardChoice, LostWorker, SchedulerHandle, SchedulerServerConfig,
    ServerError, StopCause,
};
pub use value::{DecodeError, Value};
pub use worker::{start_worker, WorkerConfig, WorkerError, WorkerExit, WorkerHandle};
