//! # Tessera
//!
//! Chunked n-dimensional array analyses on supercomputers: a scheduler and workers started by
//! `mpirun`, by a batch system, or locally, and clients that submit task graphs to them.
//!
//! The map of the house (see `docs/architecture.md` for the full picture):
//!
//! - [`array`]: lazy chunked n-d arrays lowered to task graphs (dask.array for Tessera).
//! - [`core`]: pure state machines (task graph, scheduler) fed `(now, event)`; no I/O.
//! - [`protocol`]: messages, frames, the authenticated handshake.
//! - [`transport`]: TCP, in-process and MPI connections carrying frames.
//! - [`runtime`]: the drivers — scheduler server, worker, client — that move bytes between the
//!   transports and the core.
//! - [`store`]: the worker's chunk store, spilling to node-local disk.
//! - [`deploy`]: the scheduler file and the local cluster.
//! - [`mpi`]: `mpirun … tessera mpi` and MPI batch-mode programs (`tessera::mpi::run`).
//! - [`expr`]: the `tessera eval` expression language: lexer, parser, validation, diagnostics.
//! - [`eval`]: evaluating `tessera eval` programs into lazy arrays; text, JSON and `.npy` output.
//! - [`labeled`]: arrays with dimension names, coordinates and attributes (xarray for Tessera).
//! - `io` (feature `io`, on by default): HDF5 and NetCDF-4 input and output for chunked arrays.
//! - [`units`]: sizes, durations and memory limits as people write them.
//! - [`config`]: the config-file layer under flags and environment variables.

pub mod array;
pub mod cli;
pub mod config;
pub mod core;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod deploy;
pub mod eval;
pub mod expr;
pub mod huge_page_alloc;
#[cfg(feature = "io")]
pub mod io;
pub mod jobs;
pub mod labeled;
pub mod mpi;
pub mod protocol;
pub mod runtime;
pub mod store;
pub mod transport;
pub mod units;
