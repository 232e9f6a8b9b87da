//! HDF5 and NetCDF-4 input and output for chunked arrays.
//!
//! Reading: [`from_hdf5`], [`from_netcdf`] (one file, a glob, or — with [`open_files`] — a
//! list concatenated along a dimension) give a lazy [`LabeledArray`]: an
//! [`Array`](crate::array::Array) whose chunks are read by `tessera.io.read` tasks on the
//! workers, plus dimension names, coordinates and attributes. NetCDF values are CF-decoded
//! (`_FillValue`/`missing_value` → NaN, `scale_factor`/`add_offset` unpacked) unless
//! [`ReadOptions::raw`] is asked for.
//!
//! Writing: [`to_hdf5`], [`to_netcdf`], [`write_outputs`] (several outputs sharing one
//! computation). Workers compress their chunks in parallel and write them under an exclusive
//! lock on the output; files are written under a temporary name and renamed on success. See
//! docs/io.md for the user guide and docs/architecture.md ("Parallel writes") for the design.
//!
//! This module must not schedule tasks or know about transports.

mod cf;
mod chunking;
mod codec;
mod dimension_scales;
mod error;
mod file_lock;
mod file_type;
mod format;
mod glob;
mod hdf5_file;
pub mod kernels;
mod netcdf_file;
mod open;
mod output;
mod raw_chunks;
mod source;
mod store;
mod variable;
mod write;

pub use cf::CfDecoding;
pub use chunking::storage_aligned_chunks;
pub use codec::{deflate, inflate_into, shuffle, unshuffle, Codec};
pub use error::IoError;
pub use file_type::FileType;
pub use format::{Format, OutputTarget};
pub use glob::{expand_glob, is_pattern};
// The labels live in `crate::labeled`; re-exported here where file readers and writers
// have always found them.
pub use crate::labeled::{
    after_cast, after_reduction, AttrValue, Attributes, Coordinate, KeepAttrs, LabeledArray,
    ENCODING_ATTRS, INTERNAL_ATTRS, RANGE_ATTRS,
};
pub use open::{
    coordinate_values, from_hdf5, from_hdf5_with, from_netcdf, from_netcdf_with, open_files,
    ReadOptions,
};
pub use output::{WriteOptions, WriteStrategy};
pub use write::{
    to_hdf5, to_netcdf, write_and_gather, write_outputs, Output, WriteReport, WrittenFile,
};
