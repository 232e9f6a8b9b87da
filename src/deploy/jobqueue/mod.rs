//! Job-queue adapters, the pure part: job scripts rendered from a [`JobSpec`] for SLURM, PBS,
//! SGE, LSF, HTCondor, OAR and Moab, the argv of their submit/status/cancel commands, and
//! parsers for what those commands print.
//!
//! Nothing here spawns a process or touches the filesystem: a thin runner (elsewhere) writes
//! the [`RenderedJob`] files, runs the argv vectors and feeds their stdout back to
//! [`BatchSystem::parse_submit_output`] and [`BatchSystem::parse_status`]. Option mapping and
//! rounding rules per system: `docs/jobqueue.md`.

#![warn(missing_docs)]

pub mod cluster;
pub mod control;
pub mod htcondor;
pub mod launch;
pub mod lsf;
pub mod manager;
pub mod moab;
pub mod oar;
pub mod pbs;
pub mod resources;
pub mod runner;
pub mod script;
pub mod sge;
pub mod shell_quote;
pub mod slurm;
pub mod spec;
pub mod status;
pub mod submit_output;
pub mod system;
pub mod system_options;
pub mod worker_command;

pub use spec::{JobSpec, JobSpecError};
pub use status::{job_key, JobId, JobState};
pub use submit_output::SubmitParseError;
pub use system::{BatchSystem, JobFile, RenderedJob, UnknownBatchSystem};
pub use system_options::{LsfUnit, PbsFlavour, SystemOptions};
