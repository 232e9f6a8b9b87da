//! Jobs of command tasks: what `tessera submit` creates and `tessera job …` shows. A job is a
//! command template run once per entry (`--array`, `--each-line`, `--each-file`), with a
//! resource request, retries (`--max-fails`) and dependencies on other jobs (`--after`).
//!
//! [`JobBook`] is a pure state machine kept by the scheduler server (jobs survive their
//! client): it turns submissions into task specs and task reports into per-task states. It
//! must not do I/O or read the clock (times are passed in).

mod array_spec;
mod book;
pub mod journal;

pub use array_spec::{parse_array, ArraySpecError};
pub use book::{is_job_key, parse_key, task_key, JobBook, JobEffects};
