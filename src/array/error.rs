//! Errors of the array layer: bad shapes, axes, chunk specs, indices, undecodable chunks, and
//! failures while computing. Every message names the shape, axis or value at fault.
//!
//! This module must not depend on how arrays are computed.

use crate::array::dtype::DType;

/// Something about an array operation is wrong, or computing it failed.
#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    /// Two shapes cannot be broadcast together.
    #[error("shapes {left:?} and {right:?} cannot be broadcast together (axis {axis} from the right: {a} vs {b})")]
    Broadcast {
        left: Vec<usize>,
        right: Vec<usize>,
        axis: usize,
        a: usize,
        b: usize,
    },
    /// An axis number is out of range for an array of `ndim` dimensions.
    #[error("axis {axis} is out of range for an array of {ndim} dimensions")]
    AxisOutOfRange { axis: isize, ndim: usize },
    /// An axis was given twice.
    #[error("axis {axis} is repeated in {axes:?}")]
    RepeatedAxis { axis: usize, axes: Vec<isize> },
    /// A chunk specification does not fit the shape.
    #[error("chunks {spec} do not fit shape {shape:?}: {reason}")]
    BadChunks {
        spec: String,
        shape: Vec<usize>,
        reason: String,
    },
    /// The operation does not accept this dtype.
    #[error("{op} does not accept dtype {dtype}")]
    UnsupportedDType { op: &'static str, dtype: DType },
    /// Shapes of operands do not fit the operation.
    #[error("{op}: {reason}")]
    Shape { op: &'static str, reason: String },
    /// An index is out of bounds or malformed.
    #[error("index {index} is out of bounds for axis {axis} of size {size}")]
    IndexOutOfBounds {
        index: i64,
        axis: usize,
        size: usize,
    },
    /// A malformed index expression.
    #[error("bad index: {0}")]
    BadIndex(String),
    /// Chunk or partial bytes could not be decoded.
    #[error("cannot decode chunk: {0}")]
    Decode(String),
    /// A requested element type does not match the array's.
    #[error("array has dtype {actual}, requested {requested}")]
    DTypeMismatch { actual: DType, requested: DType },
    /// Running the graph failed (a kernel error, a missing kernel or input).
    #[error("computing the array failed: {0}")]
    Compute(String),
    /// The cluster client failed.
    #[error(transparent)]
    Client(#[from] crate::runtime::ClientError),
    /// A Python integer does not fit the integer dtype it is combined with (NumPy 2 raises
    /// OverflowError).
    #[error("Python integer {value} out of bounds for {dtype}")]
    ScalarOutOfBounds { value: i64, dtype: DType },
    /// A size, shape or byte count does not fit in 64 bits.
    #[error("{what} overflows: {detail}")]
    SizeOverflow { what: &'static str, detail: String },
    /// A graph too big to submit: about `tasks` tasks over `bytes` bytes of chunks.
    #[error("the computation needs about {tasks} tasks over {bytes} bytes of chunks, more than the {limit} tasks one submission may have: use larger chunks, or select or reduce first")]
    TooManyTasks {
        tasks: u128,
        bytes: u128,
        limit: u128,
    },
    /// A parameter value is invalid.
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}
