//! Errors of the label layer: dimension names that do not fit the array, coordinates of the
//! wrong length, dimensions that do not exist. Every message names the variable or dimension
//! at fault.
//!
//! This module must not open files.

use crate::array::ArrayError;

/// A label operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// Dimension names, coordinates or an operation on them do not fit the array.
    #[error("{0}")]
    Invalid(String),
    /// The array layer failed (building or computing the graph).
    #[error(transparent)]
    Array(#[from] ArrayError),
}
