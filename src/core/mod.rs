//! The pure core: task graph, scheduler, memory and autoscaling decisions.
//!
//! Nothing in here does I/O, reads a clock, sleeps or spawns threads. Every machine is fed
//! `(now, event)` by a driver in `runtime/` and answers with actions the driver carries out,
//! so a deterministic simulator can drive it with thousands of fake workers and injected faults.

pub mod autoscale;
pub mod memory;
pub mod resources;
pub mod scheduler;
pub mod task;

pub use resources::{ResourceRequest, WorkerResources};
pub use scheduler::{Action, DepLocation, Event, Scheduler, SchedulerConfig, SchedulerSnapshot};
pub use task::{ClientId, KernelName, TaskKey, TaskSpec, WorkerId};
