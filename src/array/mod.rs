//! Lazy chunked n-dimensional arrays — what dask.array is to NumPy — lowered to Tessera task
//! graphs.
//!
//! An [`Array`] is a dtype, a shape, a [`ChunkGrid`] and a node of a DAG of array operations.
//! Nothing is computed until the array is lowered to [`TaskSpec`](crate::core::TaskSpec)s and
//! run, either on a cluster through a [`Client`](crate::runtime::Client) or in-process with
//! [`execute_graph_locally`]. Chains of elementwise operations fuse into one task per chunk;
//! reductions are trees with a bounded fan-in. See `docs/arrays.md` for the user guide.
//!
//! This module must not know how tasks are scheduled or moved.

pub mod chunk;
pub mod data;
pub mod dtype;
pub mod error;
pub mod grid;
pub(crate) mod pod;

pub use chunk::{
    decode_bundle, decode_chunk, encode_bundle, encode_chunk, encode_values, encode_view,
    ChunkValues, ChunkView, ChunkWriter,
};
pub use data::{ArrayData, Element};
pub use dtype::{DType, DTypeKind, Scalar};
pub use error::ArrayError;
pub use grid::{AxisChunks, ChunkGrid, ChunkSpec, DEFAULT_AUTO_CHUNK_BYTES};
