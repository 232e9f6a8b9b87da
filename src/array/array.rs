//! [`Array`]: a lazy chunked n-dimensional array — dtype, shape, chunk grid and a node of the
//! operation graph — and how it is turned into a task graph and computed.
//!
//! Creating or combining arrays never computes anything. This module must not contain
//! operation semantics (see the `creation`, `elementwise`, `reduce`, `index`, `shape_ops`
//! modules, which add methods to `Array`).

use std::collections::HashMap;

use bytes::Bytes;
use ndarray::{ArrayD, IxDyn, Slice as NdSlice};

use crate::array::chunk::decode_chunk;
use crate::array::data::{ArrayData, Element};
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::ChunkGrid;
use crate::array::local::execute_graph_locally;
use crate::array::lower::{lower, ArrayGraph};
use crate::array::node::NodeRef;
use crate::core::TaskKey;
use crate::runtime::{Client, Future};

/// A lazy chunked n-dimensional array.
///
/// ```
/// use tessera::array::{Array, DType};
/// let a = Array::ones(&[4, 6], DType::F64, [2, 3]).unwrap();
/// let b = (&a * 2.0).unwrap();
/// assert_eq!(b.shape(), &[4, 6]);
/// assert_eq!(b.chunks().num_chunks(), 4);
/// let v = b.compute_local().unwrap();
/// assert!(v.to_f64_vec().iter().all(|&x| x == 2.0));
/// ```
#[derive(Clone)]
pub struct Array {
    node: NodeRef,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("name", &self.name())
            .field("dtype", &self.dtype())
            .field("shape", &self.shape())
            .field("chunks", &self.chunks().all_blocks())
            .finish()
    }
}

impl Array {
    pub(crate) fn from_node(node: NodeRef) -> Array {
        Array { node }
    }

    pub(crate) fn node(&self) -> &NodeRef {
        &self.node
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.node.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.node.shape
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.node.shape.len()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.node.shape.iter().product()
    }

    /// The chunk grid.
    pub fn chunks(&self) -> &ChunkGrid {
        &self.node.grid
    }

    /// The deterministic name of this array's tasks (`<operation>-<content hash>`).
    pub fn name(&self) -> String {
        self.node.key(&[])
    }

    /// The task key of chunk `idx`.
    pub fn chunk_key(&self, idx: &[usize]) -> TaskKey {
        TaskKey::new(self.node.key(idx))
    }

    /// The task graph computing every chunk.
    pub fn graph(&self) -> Result<ArrayGraph, ArrayError> {
        lower(&self.node, None)
    }

    /// The task graph computing only the chunks `chunks` (culled to what they need).
    pub fn graph_for_chunks(&self, chunks: &[Vec<usize>]) -> Result<ArrayGraph, ArrayError> {
        lower(&self.node, Some(chunks))
    }

    /// Computes the array in this process, running the tasks one after another (like dask's
    /// synchronous scheduler). Meant for tests and small arrays.
    pub fn compute_local(&self) -> Result<ArrayData, ArrayError> {
        let g = self.graph()?;
        let keys: Vec<TaskKey> = g.outputs.iter().map(|(_, k)| k.clone()).collect();
        let mut results = execute_graph_locally(&g.tasks, &keys)?;
        let chunks = g
            .outputs
            .iter()
            .map(|(idx, k)| {
                results
                    .remove(k)
                    .map(|b| (idx.clone(), b))
                    .ok_or_else(|| ArrayError::Compute(format!("no result for {k}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.assemble(&chunks)
    }

    /// Computes the array in this process as a typed ndarray.
    pub fn compute_local_as<T: Element>(&self) -> Result<ArrayD<T>, ArrayError> {
        self.compute_local()?.into_typed()
    }

    /// Computes the array on a cluster and gathers it into this process.
    pub fn compute(&self, client: &Client) -> Result<ArrayData, ArrayError> {
        let g = self.graph()?;
        let keys: Vec<TaskKey> = g.outputs.iter().map(|(_, k)| k.clone()).collect();
        let values = client.compute(g.tasks, &keys)?;
        let chunks: Vec<(Vec<usize>, Bytes)> =
            g.outputs.into_iter().map(|(i, _)| i).zip(values).collect();
        self.assemble(&chunks)
    }

    /// Computes the array on a cluster as a typed ndarray.
    pub fn compute_as<T: Element>(&self, client: &Client) -> Result<ArrayD<T>, ArrayError> {
        self.compute(client)?.into_typed()
    }

    /// Starts computing the array on a cluster and keeps its chunks there.
    pub fn persist(&self, client: &Client) -> Result<PersistedArray, ArrayError> {
        let g = self.graph()?;
        let keys: Vec<TaskKey> = g.outputs.iter().map(|(_, k)| k.clone()).collect();
        let futures = client.submit_graph(g.tasks, &keys)?;
        Ok(PersistedArray {
            array: self.clone(),
            chunks: g.outputs.into_iter().map(|(i, _)| i).zip(futures).collect(),
        })
    }

    /// Builds the full array from encoded chunks `(block index, bytes)`.
    pub(crate) fn assemble(&self, chunks: &[(Vec<usize>, Bytes)]) -> Result<ArrayData, ArrayError> {
        assemble(self.dtype(), self.shape(), self.chunks(), chunks)
    }
}

fn place<T: Element>(
    out: &mut ArrayD<T>,
    origin: &[usize],
    view: &crate::array::ChunkView<'_>,
) -> Result<(), ArrayError> {
    let v = view.array_view::<T>()?;
    let mut region = out.slice_each_axis_mut(|ax| {
        let a = ax.axis.index();
        NdSlice::from(origin[a]..origin[a] + view.shape[a])
    });
    region.assign(&v);
    Ok(())
}

/// Builds an array of `dtype` and `shape` from its encoded chunks on `grid`.
pub(crate) fn assemble(
    dtype: DType,
    shape: &[usize],
    grid: &ChunkGrid,
    chunks: &[(Vec<usize>, Bytes)],
) -> Result<ArrayData, ArrayError> {
    let mut out = ArrayData::zeros(dtype, shape);
    for (idx, bytes) in chunks {
        let view = decode_chunk(bytes)?;
        let want = grid.chunk_shape(idx);
        if view.shape != want || view.dtype() != dtype {
            return Err(ArrayError::Compute(format!(
                "chunk {idx:?} came back as {} {:?}, expected {dtype} {want:?}",
                view.dtype(),
                view.shape
            )));
        }
        let origin = grid.chunk_origin(idx);
        crate::with_array_data!(&mut out, a => place(a, &origin, &view))?;
    }
    let _ = IxDyn(shape);
    Ok(out)
}

/// An array whose chunks are being computed (or are held) on a cluster.
pub struct PersistedArray {
    array: Array,
    chunks: Vec<(Vec<usize>, Future<Bytes>)>,
}

impl PersistedArray {
    /// The array's description (dtype, shape, chunks).
    pub fn array(&self) -> &Array {
        &self.array
    }

    /// The futures of the chunks, by block index.
    pub fn futures(&self) -> HashMap<Vec<usize>, &Future<Bytes>> {
        self.chunks.iter().map(|(i, f)| (i.clone(), f)).collect()
    }

    /// Waits for every chunk and gathers the whole array.
    pub fn gather(&self, client: &Client) -> Result<ArrayData, ArrayError> {
        let futures: Vec<Future<Bytes>> = self.chunks.iter().map(|(_, f)| f.clone()).collect();
        let values = client.gather(&futures)?;
        let chunks: Vec<(Vec<usize>, Bytes)> = self
            .chunks
            .iter()
            .map(|(i, _)| i.clone())
            .zip(values)
            .collect();
        self.array.assemble(&chunks)
    }
}
