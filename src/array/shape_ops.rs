//! Shape operations: rechunk, transpose, concatenate, stack, squeeze, expand_dims,
//! broadcast_to, reshape. Each output chunk is assembled from the pieces of the input chunks it
//! overlaps.
//!
//! This module builds graph nodes and their tasks; its kernels only copy elements.

use bytes::Bytes;
use ndarray::{ArrayD, IxDyn, Slice as NdSlice};
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, encode_view, ChunkView};
use crate::array::data::Element;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::{all_indices, ChunkGrid, ChunkSpec};
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::reduce::normalize_axes;
use crate::core::TaskKey;

/// A shape operation as stored in the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum ShapeOp {
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    Transpose { perm: Vec<usize> },
    /// Inputs joined along `axis`.
    Concatenate { axis: usize },
    /// The same elements with axes of length 1 added or removed: output axis `i` is input
    /// axis `map[i]` or a new axis.
    Squeeze { map: Vec<Option<usize>> },
    /// Broadcast to the node's shape (input aligned to the last axes).
    BroadcastTo,
    /// Positions `indices` along `axis`.
    Take { axis: usize, indices: Vec<usize> },
    /// Row-major reshape of an input cut into leading-axis ranges.
    Reshape,
    /// A registered kernel applied chunk by chunk.
    MapBlocks { kernel: String, args: Vec<u8> },
    /// Cumulative sum or product along `axis`.
    Scan { axis: usize, prod: bool },
    /// Matrix product of two 2-d inputs.
    MatMul,
    /// Chunks extended by `depth` from their neighbours.
    Overlap {
        depth: Vec<usize>,
        boundary: crate::array::overlap::Boundary,
    },
    /// Each lane along `axis` (one chunk) sorted, or its sorting positions.
    Sort { axis: usize, arg: bool },
    /// Quantiles (as `f64` bits) of each lane along `axis`, which is one chunk.
    Quantile {
        axis: usize,
        q: Vec<u64>,
        skip_nan: bool,
    },
    /// The extension of an overlap removed.
    Trim {
        depth: Vec<usize>,
        boundary_none: bool,
    },
}

impl ShapeOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ShapeOp::Transpose { .. } => "transpose",
            ShapeOp::Concatenate { .. } => "concatenate",
            ShapeOp::Squeeze { .. } => "squeeze",
            ShapeOp::BroadcastTo => "broadcast_to",
            ShapeOp::Take { .. } => "take",
            ShapeOp::Reshape => "reshape",
            ShapeOp::MapBlocks { .. } => "map_blocks",
            ShapeOp::Scan { prod: false, .. } => "cumsum",
            ShapeOp::Scan { prod: true, .. } => "cumprod",
            ShapeOp::MatMul => "matmul",
            ShapeOp::Overlap { .. } => "overlap",
            ShapeOp::Trim { .. } => "trim",
            ShapeOp::Quantile { .. } => "quantile",
            ShapeOp::Sort { arg: false, .. } => "sort",
            ShapeOp::Sort { arg: true, .. } => "argsort",
        }
    }
}

/// A copy of a box from one input chunk into the output chunk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Piece {
    pub src_start: Vec<usize>,
    pub dst_start: Vec<usize>,
    pub extent: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AssembleArgs {
    pub dtype: DType,
    pub out_shape: Vec<usize>,
    /// One piece per input, in input order.
    pub pieces: Vec<Piece>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PermuteArgs {
    /// Input axes in output order; `None` inserts a new axis of length 1.
    pub map: Vec<Option<usize>>,
    /// Broadcast the permuted chunk to this shape when set.
    pub broadcast: Option<Vec<usize>>,
}

/// Block indices of `blocks` overlapping `[start, end)`, with each overlap's bounds.
fn overlaps(offsets: &[usize], start: usize, end: usize) -> Vec<(usize, usize, usize)> {
    let mut v = Vec::new();
    for b in 0..offsets.len() - 1 {
        let (lo, hi) = (offsets[b], offsets[b + 1]);
        let (s, e) = (lo.max(start), hi.min(end));
        if s < e || (start == end && lo == start && b == 0) {
            v.push((b, s, e));
        }
    }
    if v.is_empty() {
        v.push((0, start, end));
    }
    v
}

/// A rechunk task may read at most this many times the larger of the input and output chunk
/// sizes; beyond that, the overlapping pieces are split out first (peak memory per task stays
/// within one input chunk plus a piece, or one output chunk plus its pieces).
pub const RECHUNK_MEMORY_FACTOR: usize = 4;

/// Tasks assembling output chunks of `out_grid` from chunks of `x` covering the same global
/// box (`x` and the output have the same shape).
fn lower_regrid(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let nd = x.ndim();
    let in_offsets: Vec<Vec<usize>> = (0..nd).map(|a| x.grid.offsets(a)).collect();
    let itemsize = x.dtype.itemsize();
    let limit = RECHUNK_MEMORY_FACTOR
        * x.grid
            .max_chunk_bytes(itemsize)
            .max(node.grid.max_chunk_bytes(itemsize))
            .max(1);
    for idx in chunks {
        let origin = node.grid.chunk_origin(idx);
        let cs = node.grid.chunk_shape(idx);
        let per_axis: Vec<Vec<(usize, usize, usize)>> = (0..nd)
            .map(|a| overlaps(&in_offsets[a], origin[a], origin[a] + cs[a]))
            .collect();
        let dims: Vec<usize> = per_axis.iter().map(Vec::len).collect();
        // Bytes the direct task would hold: every overlapping input chunk whole.
        let read: usize = (0..nd)
            .map(|a| {
                per_axis[a]
                    .iter()
                    .map(|&(b, _, _)| x.grid.blocks(a)[b])
                    .sum::<usize>()
            })
            .product::<usize>()
            * itemsize;
        let staged = read > limit;
        let suffix: String = idx.iter().map(|i| format!("-{i}")).collect();
        let mut pieces = Vec::new();
        let mut deps: Vec<TaskKey> = Vec::new();
        for (k, combo) in all_indices(&dims).into_iter().enumerate() {
            let mut in_idx = Vec::with_capacity(nd);
            let mut piece = Piece {
                src_start: Vec::with_capacity(nd),
                dst_start: Vec::with_capacity(nd),
                extent: Vec::with_capacity(nd),
            };
            for a in 0..nd {
                let (b, s, e) = per_axis[a][combo[a]];
                in_idx.push(b);
                piece.src_start.push(s - in_offsets[a][b]);
                piece.dst_start.push(s - origin[a]);
                piece.extent.push(e - s);
            }
            let input = low.need(x, &in_idx);
            if staged {
                // Split: one small task per piece reads one input chunk; the merge below then
                // holds only pieces of its own output chunk.
                let key = format!("rechunk-split-{}{suffix}-p{k}", node.id);
                let sel = (0..nd)
                    .map(|a| (piece.src_start[a], piece.extent[a], 1i64))
                    .collect();
                let args = crate::array::index::SliceArgs {
                    sel,
                    out_shape: piece.extent.clone(),
                };
                low.push(key.clone(), names::SLICE, encode_args(&args)?, vec![input]);
                deps.push(TaskKey::new(key));
                piece.src_start = vec![0; nd];
            } else {
                deps.push(input);
            }
            pieces.push(piece);
        }
        let args = AssembleArgs {
            dtype: node.dtype,
            out_shape: cs,
            pieces,
        };
        low.push(node.key(idx), names::ASSEMBLE, encode_args(&args)?, deps);
    }
    Ok(())
}

pub(crate) fn lower_rechunk(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    lower_regrid(low, node, x, chunks)
}

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    inputs: &[NodeRef],
    op: &ShapeOp,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    match op {
        ShapeOp::Transpose { perm } => {
            let x = &inputs[0];
            for idx in chunks {
                let mut in_idx = vec![0; perm.len()];
                for (o, &a) in perm.iter().enumerate() {
                    in_idx[a] = idx[o];
                }
                let dep = low.need(x, &in_idx);
                let args = PermuteArgs {
                    map: perm.iter().map(|&a| Some(a)).collect(),
                    broadcast: None,
                };
                low.push(
                    node.key(idx),
                    names::PERMUTE,
                    encode_args(&args)?,
                    vec![dep],
                );
            }
        }
        ShapeOp::Squeeze { map } => {
            let x = &inputs[0];
            for idx in chunks {
                let mut in_idx = vec![0; x.ndim()];
                for (o, m) in map.iter().enumerate() {
                    if let Some(a) = m {
                        in_idx[*a] = idx[o];
                    }
                }
                let dep = low.need(x, &in_idx);
                let args = PermuteArgs {
                    map: map.clone(),
                    broadcast: None,
                };
                low.push(
                    node.key(idx),
                    names::PERMUTE,
                    encode_args(&args)?,
                    vec![dep],
                );
            }
        }
        ShapeOp::BroadcastTo => {
            let x = &inputs[0];
            let off = node.ndim() - x.ndim();
            for idx in chunks {
                let in_idx: Vec<usize> = (0..x.ndim())
                    .map(|j| if x.shape[j] == 1 { 0 } else { idx[j + off] })
                    .collect();
                let dep = low.need(x, &in_idx);
                let mut map: Vec<Option<usize>> = vec![None; off];
                map.extend((0..x.ndim()).map(Some));
                let args = PermuteArgs {
                    map,
                    broadcast: Some(node.grid.chunk_shape(idx)),
                };
                low.push(
                    node.key(idx),
                    names::PERMUTE,
                    encode_args(&args)?,
                    vec![dep],
                );
            }
        }
        ShapeOp::Take { axis, indices } => {
            crate::array::take::lower(low, node, &inputs[0], *axis, indices, chunks)?
        }
        ShapeOp::Reshape => crate::array::reshape::lower(low, node, &inputs[0], chunks)?,
        ShapeOp::MapBlocks { kernel, args } => {
            crate::array::blockwise::lower(low, node, inputs, kernel, args, chunks)?
        }
        ShapeOp::Scan { axis, prod } => {
            crate::array::scan::lower(low, node, &inputs[0], *axis, *prod, chunks)?
        }
        ShapeOp::MatMul => crate::array::linalg::lower(low, node, &inputs[0], &inputs[1], chunks)?,
        ShapeOp::Sort { axis, arg } => {
            crate::array::sort::lower(low, node, &inputs[0], *axis, *arg, chunks)?
        }
        ShapeOp::Quantile { axis, q, skip_nan } => {
            crate::array::quantile::lower(low, node, &inputs[0], *axis, q, *skip_nan, chunks)?
        }
        ShapeOp::Overlap { depth, boundary } => {
            crate::array::overlap::lower_overlap(low, node, &inputs[0], depth, *boundary, chunks)?
        }
        ShapeOp::Trim {
            depth,
            boundary_none,
        } => {
            crate::array::overlap::lower_trim(low, node, &inputs[0], depth, *boundary_none, chunks)?
        }
        ShapeOp::Concatenate { axis } => {
            // Output blocks along `axis` are the inputs' blocks one after another.
            let mut owner = Vec::new();
            for (k, x) in inputs.iter().enumerate() {
                for b in 0..x.grid.blocks(*axis).len() {
                    owner.push((k, b));
                }
            }
            for idx in chunks {
                let (k, b) = owner[idx[*axis]];
                let mut in_idx = idx.clone();
                in_idx[*axis] = b;
                let dep = low.need(&inputs[k], &in_idx);
                let cs = node.grid.chunk_shape(idx);
                let args = AssembleArgs {
                    dtype: node.dtype,
                    out_shape: cs.clone(),
                    pieces: vec![Piece {
                        src_start: vec![0; cs.len()],
                        dst_start: vec![0; cs.len()],
                        extent: cs,
                    }],
                };
                low.push(
                    node.key(idx),
                    names::ASSEMBLE,
                    encode_args(&args)?,
                    vec![dep],
                );
            }
        }
    }
    Ok(())
}

fn shape_node(
    inputs: Vec<NodeRef>,
    op: ShapeOp,
    dtype: DType,
    shape: Vec<usize>,
    grid: ChunkGrid,
) -> Array {
    Array::from_node(Node::new(Op::Shape { inputs, op }, dtype, shape, grid))
}

impl Array {
    /// The array with `axis` in one chunk and the other axes chunked as they are (the
    /// largest block of each kept), for kernels that need whole lanes along an axis.
    pub fn with_whole_axis(&self, axis: usize) -> Result<Array, ArrayError> {
        if self.chunks().blocks(axis).len() == 1 {
            return Ok(self.clone());
        }
        let spec: Vec<crate::array::grid::AxisChunks> = (0..self.ndim())
            .map(|a| {
                if a == axis {
                    crate::array::grid::AxisChunks::Full
                } else {
                    let largest = self.chunks().blocks(a).iter().copied().max();
                    crate::array::grid::AxisChunks::Size(largest.unwrap_or(1))
                }
            })
            .collect();
        self.rechunk(ChunkSpec::PerAxis(spec))
    }

    /// The same array cut into different chunks.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0, 10, 1, DType::I64, 3).unwrap();
    /// let b = a.rechunk(4).unwrap();
    /// assert_eq!(b.chunks().blocks(0), &[4, 4, 2]);
    /// assert_eq!(b.compute_local().unwrap(), a.compute_local().unwrap());
    /// ```
    pub fn rechunk(&self, chunks: impl Into<ChunkSpec>) -> Result<Array, ArrayError> {
        let x = self.node();
        let grid = chunks.into().resolve(&x.shape, x.dtype)?;
        if grid == x.grid {
            return Ok(self.clone());
        }
        if x.op.is_fusable() {
            return Ok(Array::from_node(crate::array::elementwise::regrid(
                x,
                grid.all_blocks().to_vec(),
            )?));
        }
        Ok(Array::from_node(Node::new(
            Op::Rechunk { x: x.clone() },
            x.dtype,
            x.shape.clone(),
            grid,
        )))
    }

    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Array, ArrayError> {
        let x = self.node();
        let nd = x.ndim();
        let p = normalize_axes(&perm.iter().map(|&a| a as isize).collect::<Vec<_>>(), nd)?;
        if perm.len() != nd || p.len() != nd {
            return Err(ArrayError::InvalidParameter {
                name: "perm",
                reason: format!("{perm:?} is not a permutation of {nd} axes"),
            });
        }
        let shape = perm.iter().map(|&a| x.shape[a]).collect();
        Ok(shape_node(
            vec![x.clone()],
            ShapeOp::Transpose {
                perm: perm.to_vec(),
            },
            x.dtype,
            shape,
            x.grid.permuted(perm),
        ))
    }

    /// Axes reversed (matrix transpose for 2-d arrays).
    pub fn t(&self) -> Array {
        let perm: Vec<usize> = (0..self.ndim()).rev().collect();
        // A reversal is always a valid permutation.
        self.permute(&perm).unwrap_or_else(|_| self.clone())
    }

    fn squeeze_map(&self, map: Vec<Option<usize>>) -> Result<Array, ArrayError> {
        let x = self.node();
        let shape: Vec<usize> = map.iter().map(|m| m.map_or(1, |a| x.shape[a])).collect();
        let blocks: Vec<Vec<usize>> = map
            .iter()
            .map(|m| m.map_or(vec![1], |a| x.grid.blocks(a).to_vec()))
            .collect();
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(shape_node(
            vec![x.clone()],
            ShapeOp::Squeeze { map },
            x.dtype,
            shape,
            grid,
        ))
    }

    /// Axes of length 1 removed (`axes`: those axes only, all of them when empty).
    pub fn squeeze(&self, axes: &[isize]) -> Result<Array, ArrayError> {
        let nd = self.ndim();
        let axes = if axes.is_empty() {
            (0..nd).filter(|&a| self.shape()[a] == 1).collect()
        } else {
            normalize_axes(axes, nd)?
        };
        for &a in &axes {
            if self.shape()[a] != 1 {
                return Err(ArrayError::Shape {
                    op: "squeeze",
                    reason: format!("axis {a} has length {}, not 1", self.shape()[a]),
                });
            }
        }
        self.squeeze_map((0..nd).filter(|a| !axes.contains(a)).map(Some).collect())
    }

    /// A new axis of length 1 inserted at position `axis` of the result.
    pub fn expand_dims(&self, axis: isize) -> Result<Array, ArrayError> {
        self.expand_dims_axes(&[axis])
    }

    /// New axes of length 1 at each of `axes`, positions in the result (NumPy's
    /// `expand_dims` with a tuple: `expand_dims(x, (0, 2))`).
    pub fn expand_dims_axes(&self, axes: &[isize]) -> Result<Array, ArrayError> {
        let nd = self.ndim() + axes.len();
        let new = normalize_axes(axes, nd)?;
        let mut old = 0..self.ndim();
        let map: Vec<Option<usize>> = (0..nd)
            .map(|a| if new.contains(&a) { None } else { old.next() })
            .collect();
        self.squeeze_map(map)
    }

    /// The array broadcast to `shape` (NumPy rules).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array, ArrayError> {
        let x = self.node();
        let s = crate::array::elementwise::broadcast_shapes(&x.shape, shape)?;
        if s != shape {
            return Err(ArrayError::Shape {
                op: "broadcast_to",
                reason: format!("cannot broadcast {:?} to {shape:?}", x.shape),
            });
        }
        let off = shape.len() - x.ndim();
        let blocks: Vec<Vec<usize>> = (0..shape.len())
            .map(|i| {
                if i < off || x.shape[i - off] == 1 {
                    if shape[i] == 0 {
                        vec![0]
                    } else {
                        vec![shape[i]]
                    }
                } else {
                    x.grid.blocks(i - off).to_vec()
                }
            })
            .collect();
        let grid = ChunkGrid::from_blocks(shape, blocks)?;
        Ok(shape_node(
            vec![x.clone()],
            ShapeOp::BroadcastTo,
            x.dtype,
            shape.to_vec(),
            grid,
        ))
    }

    /// Arrays joined along an existing axis (chunks are kept; other axes are re-cut to the
    /// first array's chunks).
    pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array, ArrayError> {
        let first = arrays.first().ok_or_else(|| ArrayError::InvalidParameter {
            name: "arrays",
            reason: "need at least one array".into(),
        })?;
        let nd = first.ndim();
        let axis = normalize_axes(&[axis], nd)?[0];
        let dtype = arrays
            .iter()
            .fold(first.dtype(), |d, a| d.promote(a.dtype()));
        let mut inputs = Vec::with_capacity(arrays.len());
        let mut along = Vec::new();
        for a in arrays {
            if a.ndim() != nd || (0..nd).any(|i| i != axis && a.shape()[i] != first.shape()[i]) {
                return Err(ArrayError::Shape {
                    op: "concatenate",
                    reason: format!(
                        "shapes {:?} and {:?} differ off axis {axis}",
                        first.shape(),
                        a.shape()
                    ),
                });
            }
            let blocks: Vec<Vec<usize>> = (0..nd)
                .map(|i| {
                    if i == axis {
                        a.chunks().blocks(i).to_vec()
                    } else {
                        first.chunks().blocks(i).to_vec()
                    }
                })
                .collect();
            let a = a.astype(dtype).rechunk(ChunkSpec::Blocks(blocks))?;
            along.extend(a.chunks().blocks(axis).iter().copied().filter(|&b| b > 0));
            inputs.push(a.node().clone());
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = along.iter().sum();
        if along.is_empty() {
            along.push(0);
        }
        let mut blocks = first.chunks().all_blocks().to_vec();
        blocks[axis] = along;
        // Zero-length inputs contribute no blocks.
        let inputs: Vec<NodeRef> = inputs
            .into_iter()
            .filter(|n| n.shape[axis] > 0 || shape[axis] == 0)
            .collect();
        let inputs = if shape[axis] == 0 {
            inputs.into_iter().take(1).collect()
        } else {
            inputs
        };
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(shape_node(
            inputs,
            ShapeOp::Concatenate { axis },
            dtype,
            shape,
            grid,
        ))
    }

    /// Arrays of one shape stacked along a new axis.
    pub fn stack(arrays: &[Array], axis: isize) -> Result<Array, ArrayError> {
        let first = arrays.first().ok_or_else(|| ArrayError::InvalidParameter {
            name: "arrays",
            reason: "need at least one array".into(),
        })?;
        let a = normalize_axes(&[axis], first.ndim() + 1)?[0] as isize;
        let expanded = arrays
            .iter()
            .map(|x| x.expand_dims(a))
            .collect::<Result<Vec<_>, _>>()?;
        Array::concatenate(&expanded, a)
    }
}

// ---------------------------------------------------------------- kernels

fn assemble_typed<T: Element>(
    args: &AssembleArgs,
    views: &[ChunkView<'_>],
) -> Result<Bytes, ArrayError> {
    let mut out = ArrayD::<T>::default(IxDyn(&args.out_shape));
    for (p, v) in args.pieces.iter().zip(views) {
        let src = v.array_view::<T>()?;
        let nd = args.out_shape.len();
        if p.src_start.len() != nd || src.ndim() != nd {
            return Err(ArrayError::Compute(format!(
                "piece of {} axes for an output of {nd}",
                src.ndim()
            )));
        }
        for a in 0..nd {
            if p.src_start[a] + p.extent[a] > src.shape()[a]
                || p.dst_start[a] + p.extent[a] > args.out_shape[a]
            {
                return Err(ArrayError::Compute(format!(
                    "piece {p:?} does not fit input {:?} / output {:?}",
                    src.shape(),
                    args.out_shape
                )));
            }
        }
        let s = src.slice_each_axis(|ax| {
            let a = ax.axis.index();
            NdSlice::from(p.src_start[a]..p.src_start[a] + p.extent[a])
        });
        out.slice_each_axis_mut(|ax| {
            let a = ax.axis.index();
            NdSlice::from(p.dst_start[a]..p.dst_start[a] + p.extent[a])
        })
        .assign(&s);
    }
    encode_view(&out.view())
}

/// Kernel: an output chunk assembled from pieces of its inputs.
pub(crate) fn assemble_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: AssembleArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("assemble arguments: {e}")))?;
    if args.pieces.len() != inputs.len() {
        return Err(ArrayError::Compute(format!(
            "{} pieces for {} inputs",
            args.pieces.len(),
            inputs.len()
        )));
    }
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(v) = views.iter().find(|v| v.dtype() != args.dtype) {
        return Err(ArrayError::DTypeMismatch {
            actual: v.dtype(),
            requested: args.dtype,
        });
    }
    crate::dispatch_dtype!(args.dtype, T => assemble_typed::<T>(&args, &views))
}

fn permute_typed<T: Element>(
    args: &PermuteArgs,
    view: &ChunkView<'_>,
) -> Result<Bytes, ArrayError> {
    let v = view.array_view::<T>()?;
    let kept: Vec<usize> = args.map.iter().flatten().copied().collect();
    let mut sorted = kept.clone();
    sorted.sort_unstable();
    // Axes not kept must have length 1 (squeeze); they are dropped.
    let dropped: Vec<usize> = (0..v.ndim()).filter(|a| !kept.contains(a)).collect();
    if dropped.iter().any(|&a| v.shape()[a] != 1)
        || sorted.windows(2).any(|w| w[0] == w[1])
        || sorted.last().is_some_and(|&m| m >= v.ndim())
    {
        return Err(ArrayError::Compute(format!(
            "axis map {:?} does not fit a chunk of shape {:?}",
            args.map,
            v.shape()
        )));
    }
    let new_shape: Vec<usize> = args
        .map
        .iter()
        .map(|m| m.map_or(1, |a| view.shape[a]))
        .collect();
    let source = view
        .slice::<T>()
        .ok_or_else(|| ArrayError::Compute("permute: chunk of another dtype".into()))?;
    // Row-major strides of the input, then the input stride behind each output axis.
    let mut in_strides = vec![1usize; v.ndim()];
    for a in (0..v.ndim().saturating_sub(1)).rev() {
        in_strides[a] = in_strides[a + 1] * v.shape()[a + 1];
    }
    let strides: Vec<usize> = args
        .map
        .iter()
        .map(|m| m.map_or(0, |a| in_strides[a]))
        .collect();
    let values = permuted_values(source, &new_shape, &strides);
    if args.broadcast.is_none() {
        return crate::array::chunk::encode_values(&new_shape, &values);
    }
    let arr = ArrayD::from_shape_vec(IxDyn(&new_shape), values)
        .map_err(|e| ArrayError::Compute(e.to_string()))?;
    match &args.broadcast {
        None => encode_view(&arr.view()),
        Some(shape) => {
            let b = arr.broadcast(IxDyn(shape)).ok_or_else(|| {
                ArrayError::Compute(format!("cannot broadcast {new_shape:?} to {shape:?}"))
            })?;
            encode_view(&b)
        }
    }
}

/// Edge of the square tiles a transposing copy walks, so reads and writes both stay in cache.
const TILE: usize = 32;

/// The elements of `source` read in the row-major order of an array of `shape` whose axis
/// `o` steps `strides[o]` elements through `source`: the last two axes are copied tile by
/// tile when the last one is not contiguous (a transpose), row by row when it is.
fn permuted_values<T: Copy>(source: &[T], shape: &[usize], strides: &[usize]) -> Vec<T> {
    let total: usize = shape.iter().product();
    let Some(&first) = source.first() else {
        return Vec::new();
    };
    let mut out = vec![first; total];
    if total == 0 || shape.is_empty() {
        return out;
    }
    let nd = shape.len();
    let (rows, row_stride) = if nd >= 2 {
        (shape[nd - 2], strides[nd - 2])
    } else {
        (1, 0)
    };
    let (cols, col_stride) = (shape[nd - 1], strides[nd - 1]);
    let outer = &shape[..nd.saturating_sub(2)];
    let outer_strides = &strides[..nd.saturating_sub(2)];
    let mut counter = vec![0usize; outer.len()];
    let plane = rows * cols;
    for out_base in (0..total).step_by(plane.max(1)) {
        let in_base: usize = counter.iter().zip(outer_strides).map(|(i, s)| i * s).sum();
        let dst = &mut out[out_base..out_base + plane];
        if col_stride == 1 {
            for (i, row) in dst.chunks_exact_mut(cols).enumerate() {
                let start = in_base + i * row_stride;
                row.copy_from_slice(&source[start..start + cols]);
            }
        } else {
            for i0 in (0..rows).step_by(TILE) {
                for j0 in (0..cols).step_by(TILE) {
                    for i in i0..(i0 + TILE).min(rows) {
                        let row = &mut dst[i * cols..(i + 1) * cols];
                        let from = in_base + i * row_stride;
                        for (j, d) in row
                            .iter_mut()
                            .enumerate()
                            .take((j0 + TILE).min(cols))
                            .skip(j0)
                        {
                            *d = source[from + j * col_stride];
                        }
                    }
                }
            }
        }
        for a in (0..counter.len()).rev() {
            counter[a] += 1;
            if counter[a] < outer[a] {
                break;
            }
            counter[a] = 0;
        }
    }
    out
}

/// Kernel: an input chunk with axes permuted, added or removed, optionally broadcast.
pub(crate) fn permute_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: PermuteArgs = crate::array::lower::decode_args(args, "permute")?;
    let view = crate::array::lower::single_input(inputs, "permute")?;
    crate::dispatch_dtype!(view.dtype(), T => permute_typed::<T>(&args, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every permutation of shapes up to 4-d, with tiles cut at odd sizes, against ndarray.
    #[test]
    fn permuted_values_match_ndarray_for_every_axis_order() {
        for shape in [
            vec![5],
            vec![3, 70],
            vec![33, 65],
            vec![2, 3, 40],
            vec![2, 37, 3, 5],
        ] {
            let n: usize = shape.iter().product();
            let data: Vec<u32> = (0..n as u32).collect();
            let a = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).expect("array");
            let nd = shape.len();
            let mut strides = vec![1usize; nd];
            for k in (0..nd.saturating_sub(1)).rev() {
                strides[k] = strides[k + 1] * shape[k + 1];
            }
            let mut perm: Vec<usize> = (0..nd).collect();
            loop {
                let expected: Vec<u32> = a
                    .view()
                    .permuted_axes(IxDyn(&perm))
                    .iter()
                    .copied()
                    .collect();
                let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let out_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
                assert_eq!(
                    permuted_values(&data, &out_shape, &out_strides),
                    expected,
                    "shape {shape:?} perm {perm:?}"
                );
                // Next permutation in lexicographic order.
                let Some(i) = (0..nd.saturating_sub(1))
                    .rev()
                    .find(|&i| perm[i] < perm[i + 1])
                else {
                    break;
                };
                let j = (i + 1..nd)
                    .rev()
                    .find(|&j| perm[j] > perm[i])
                    .expect("successor");
                perm.swap(i, j);
                perm[i + 1..].reverse();
            }
        }
    }
}
