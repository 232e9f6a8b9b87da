//! Errors of file input and output: missing files, datasets and variables, unsupported types,
//! disagreeing shapes across files, failed reads and writes. Every message names the file and
//! the dataset or variable at fault.
//!
//! This module must not open files.

use crate::array::ArrayError;

/// Reading or writing an HDF5 or NetCDF file failed.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    NotFound { path: String },
    /// The file exists but may not be read or written.
    #[error("{path}: permission denied")]
    PermissionDenied { path: String },
    /// The file is not an HDF5/NetCDF file, or is truncated or corrupt.
    #[error("{path}: cannot open as {format}: {reason}")]
    Open {
        path: String,
        format: &'static str,
        reason: String,
    },
    /// The dataset or variable does not exist; `available` lists those that do.
    #[error(
        "{path}: no {what} '{name}'; the file has: {}",
        list_or_none(available)
    )]
    MissingVariable {
        path: String,
        what: &'static str,
        name: String,
        available: Vec<String>,
    },
    /// A NetCDF group on the path to a variable does not exist; `available` lists the groups
    /// the file has (as paths, `a`, `a/b`).
    #[error("{path}: no group '{group}'; {}", groups_or_none(available))]
    MissingGroup {
        path: String,
        group: String,
        available: Vec<String>,
    },
    /// The element type of a dataset cannot be held by a Tessera array.
    #[error("{path}: {name} has element type {found}, which Tessera arrays cannot hold ({hint})")]
    UnsupportedType {
        path: String,
        name: String,
        found: String,
        hint: &'static str,
    },
    /// A file of a multi-file set does not agree with the first one.
    #[error("{path}: {name} {reason} (first file {first})")]
    Mismatch {
        path: String,
        first: String,
        name: String,
        reason: String,
    },
    /// A glob pattern or list matched no files.
    #[error("no files match {pattern}")]
    NoFiles { pattern: String },
    /// Reading data failed.
    #[error("{path}: reading {name}: {reason}")]
    Read {
        path: String,
        name: String,
        reason: String,
    },
    /// Writing data failed (disk full, quota, lost filesystem, ...).
    #[error("{path}: writing {name}: {reason}")]
    Write {
        path: String,
        name: String,
        reason: String,
    },
    /// An option or target is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The array layer failed (building or computing the graph).
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// The label layer failed (dimension names, coordinates).
    #[error(transparent)]
    Label(#[from] crate::labeled::LabelError),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

fn groups_or_none(groups: &[String]) -> String {
    if groups.is_empty() {
        "the file has no groups".into()
    } else {
        format!("the file has groups: {}", groups.join(", "))
    }
}

impl IoError {
    /// The error for a failed `std::fs` operation on `path`.
    pub(crate) fn from_os(path: &str, e: &std::io::Error, doing: &str) -> IoError {
        match e.kind() {
            std::io::ErrorKind::NotFound => IoError::NotFound { path: path.into() },
            std::io::ErrorKind::PermissionDenied => IoError::PermissionDenied { path: path.into() },
            _ => IoError::Write {
                path: path.into(),
                name: doing.into(),
                reason: e.to_string(),
            },
        }
    }
}
