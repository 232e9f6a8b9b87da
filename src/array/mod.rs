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

#[allow(clippy::module_inception)]
mod array;
mod block;
mod blockwise;
pub mod chunk;
mod creation;
pub mod data;
pub mod dtype;
mod elementwise;
pub mod error;
mod fuse;
pub mod grid;
mod index;
pub mod kernels;
mod linalg;
mod local;
mod lower;
pub mod manipulation;
mod math;
mod node;
pub mod ops;
mod overlap;
pub(crate) mod pod;
pub mod program;
pub mod quantile;
mod reduce;
mod reshape;
mod scan;
pub mod search;
mod shape_ops;
mod slice_pushdown;
pub mod sort;
mod statistics;
mod take;
mod walker;

pub use array::{Array, PersistedArray};
pub use chunk::{
    decode_bundle, decode_chunk, encode_bundle, encode_chunk, encode_values, encode_view,
    ChunkValues, ChunkView, ChunkWriter,
};
pub use data::{ArrayData, Element};
pub use dtype::{DType, DTypeKind, Scalar};
pub use elementwise::{broadcast_shapes, Operand};
pub use error::ArrayError;
pub use grid::{AxisChunks, ChunkGrid, ChunkSpec, DEFAULT_AUTO_CHUNK_BYTES};
pub use index::IndexItem;
pub use local::execute_graph_locally;
pub use lower::{ArrayGraph, BlockArgs};
pub use manipulation::PadMode;
pub use ops::{BinaryOp, UnaryOp};
pub use overlap::Boundary;
pub use reduce::{normalize_axes as reduce_axes, ReduceKind, ReduceOptions, DEFAULT_SPLIT_EVERY};
pub use walker::Strided;
