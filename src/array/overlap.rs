//! Overlapping blocks: every chunk extended by `depth` elements from its neighbours per axis,
//! with a boundary rule at the array's edges (none, periodic, reflect, nearest, constant);
//! `trim_overlap` removes the extension and `map_overlap` runs a kernel in between (stencils,
//! filters, finite differences).
//!
//! This module builds graph nodes and tasks; its kernel only gathers elements.

use bytes::Bytes;
use ndarray::{ArrayD, Axis, IxDyn, Slice as NdSlice};
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::chunk::{decode_chunk, encode_view, ChunkView};
use crate::array::data::Element;
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::grid::{all_indices, ChunkGrid};
use crate::array::index::SliceArgs;
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::math::CastTo;
use crate::array::node::{Node, NodeRef, Op};
use crate::array::shape_ops::ShapeOp;

/// What lies beyond the array's edges when blocks are extended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Boundary {
    /// Nothing: blocks at the edges are not extended outwards.
    None,
    /// The array wraps around.
    Periodic,
    /// Mirrored, edge included (`… x1 x0 | x0 x1 …`, dask's "reflect").
    Reflect,
    /// The edge value repeated.
    Nearest,
    /// A constant.
    Constant(f64),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct OverlapArgs {
    pub dtype: DType,
    pub out_shape: Vec<usize>,
    /// Per axis: number of distinct input blocks read (slots).
    pub slots: Vec<usize>,
    /// Per axis, per output position: `(slot, position in that input block)`, or `None` for
    /// the constant.
    pub sources: Vec<Vec<Option<(u32, u32)>>>,
    pub fill: f64,
}

fn extension(boundary: Boundary, block: usize, nblocks: usize, depth: usize) -> (usize, usize) {
    let left = if block > 0 || boundary != Boundary::None {
        depth
    } else {
        0
    };
    let right = if block + 1 < nblocks || boundary != Boundary::None {
        depth
    } else {
        0
    };
    (left, right)
}

impl Array {
    /// Every chunk extended by `depth[axis]` elements on both sides (see [`Boundary`]).
    /// The result's chunks overlap, so its shape is larger than the array's; use
    /// [`Array::trim_overlap`] with the same arguments to undo it.
    pub fn overlap(&self, depth: &[usize], boundary: Boundary) -> Result<Array, ArrayError> {
        let x = self.node();
        if depth.len() != x.ndim() {
            return Err(ArrayError::InvalidParameter {
                name: "depth",
                reason: format!("{} depths for {} axes", depth.len(), x.ndim()),
            });
        }
        let mut blocks = Vec::with_capacity(x.ndim());
        for (a, &d) in depth.iter().enumerate() {
            let b = x.grid.blocks(a);
            let smallest = b.iter().copied().min().unwrap_or(0);
            if d > 0 && (x.shape[a] < d || (b.len() > 1 && smallest < d)) {
                return Err(ArrayError::InvalidParameter {
                    name: "depth",
                    reason: format!(
                        "depth {d} on axis {a} exceeds its chunks {b:?} (rechunk first)"
                    ),
                });
            }
            blocks.push(
                (0..b.len())
                    .map(|i| {
                        let (l, r) = extension(boundary, i, b.len(), d);
                        b[i] + l + r
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let shape: Vec<usize> = blocks.iter().map(|b| b.iter().sum()).collect();
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![x.clone()],
                op: ShapeOp::Overlap {
                    depth: depth.to_vec(),
                    boundary,
                },
            },
            x.dtype,
            shape,
            grid,
        )))
    }

    /// Removes the extension [`Array::overlap`] added with the same `depth` and `boundary`.
    pub fn trim_overlap(&self, depth: &[usize], boundary: Boundary) -> Result<Array, ArrayError> {
        let x = self.node();
        if depth.len() != x.ndim() {
            return Err(ArrayError::InvalidParameter {
                name: "depth",
                reason: format!("{} depths for {} axes", depth.len(), x.ndim()),
            });
        }
        let mut blocks = Vec::with_capacity(x.ndim());
        for (a, &d) in depth.iter().enumerate() {
            let b = x.grid.blocks(a);
            let mut v = Vec::with_capacity(b.len());
            for (i, &size) in b.iter().enumerate() {
                let (l, r) = extension(boundary, i, b.len(), d);
                v.push(size.checked_sub(l + r).ok_or_else(|| ArrayError::InvalidParameter {
                    name: "depth",
                    reason: format!("block {i} of axis {a} has {size} elements, fewer than the depth to trim"),
                })?);
            }
            blocks.push(v);
        }
        let shape: Vec<usize> = blocks.iter().map(|b| b.iter().sum()).collect();
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        Ok(Array::from_node(Node::new(
            Op::Shape {
                inputs: vec![x.clone()],
                op: ShapeOp::Trim {
                    depth: depth.to_vec(),
                    boundary_none: boundary == Boundary::None,
                },
            },
            x.dtype,
            shape,
            grid,
        )))
    }

    /// `overlap`, then the registered kernel on every extended chunk (it must return a chunk
    /// of the extended shape), then `trim_overlap`: a stencil over chunk borders.
    pub fn map_overlap(
        &self,
        kernel: &str,
        args: impl Into<Bytes>,
        depth: &[usize],
        boundary: Boundary,
        dtype: DType,
    ) -> Result<Array, ArrayError> {
        let o = self.overlap(depth, boundary)?;
        let m = Array::map_blocks(kernel, args, &[&o], dtype)?;
        m.trim_overlap(depth, boundary)
    }
}

/// Source global position of extended position `g` (may be out of `0..n`).
fn source(g: i64, n: i64, boundary: Boundary) -> Option<i64> {
    if (0..n).contains(&g) {
        return Some(g);
    }
    match boundary {
        Boundary::Periodic => Some(g.rem_euclid(n)),
        Boundary::Reflect => {
            let p = g.rem_euclid(2 * n);
            Some(if p < n { p } else { 2 * n - 1 - p })
        }
        Boundary::Nearest => Some(g.clamp(0, n - 1)),
        Boundary::Constant(_) | Boundary::None => None,
    }
}

pub(crate) fn lower_overlap(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    depth: &[usize],
    boundary: Boundary,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let nd = x.ndim();
    let offsets: Vec<Vec<usize>> = (0..nd).map(|a| x.grid.offsets(a)).collect();
    let fill = match boundary {
        Boundary::Constant(c) => c,
        _ => 0.0,
    };
    for idx in chunks {
        let mut slot_blocks: Vec<Vec<usize>> = Vec::with_capacity(nd);
        let mut sources: Vec<Vec<Option<(u32, u32)>>> = Vec::with_capacity(nd);
        for a in 0..nd {
            let nb = x.grid.blocks(a).len();
            let (left, right) = extension(boundary, idx[a], nb, depth[a]);
            let (s, e) = (offsets[a][idx[a]] as i64, offsets[a][idx[a] + 1] as i64);
            let n = x.shape[a] as i64;
            let mut blocks_here: Vec<usize> = Vec::new();
            let mut src = Vec::with_capacity((e - s) as usize + left + right);
            for g in (s - left as i64)..(e + right as i64) {
                match source(g, n, boundary) {
                    None => src.push(None),
                    Some(p) => {
                        let p = p as usize;
                        let b = offsets[a].partition_point(|&o| o <= p) - 1;
                        let slot = match blocks_here.iter().position(|&q| q == b) {
                            Some(i) => i,
                            None => {
                                blocks_here.push(b);
                                blocks_here.len() - 1
                            }
                        };
                        src.push(Some((slot as u32, (p - offsets[a][b]) as u32)));
                    }
                }
            }
            if blocks_here.is_empty() {
                blocks_here.push(idx[a]);
            }
            slot_blocks.push(blocks_here);
            sources.push(src);
        }
        let slots: Vec<usize> = slot_blocks.iter().map(Vec::len).collect();
        let deps = all_indices(&slots)
            .into_iter()
            .map(|combo| {
                let in_idx: Vec<usize> = combo
                    .iter()
                    .enumerate()
                    .map(|(a, &s)| slot_blocks[a][s])
                    .collect();
                low.need(x, &in_idx)
            })
            .collect();
        let args = OverlapArgs {
            dtype: node.dtype,
            out_shape: node.grid.chunk_shape(idx),
            slots,
            sources,
            fill,
        };
        low.push(node.key(idx), names::OVERLAP, encode_args(&args)?, deps);
    }
    Ok(())
}

pub(crate) fn lower_trim(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    depth: &[usize],
    boundary_none: bool,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let boundary = if boundary_none {
        Boundary::None
    } else {
        Boundary::Nearest
    };
    for idx in chunks {
        let cs = node.grid.chunk_shape(idx);
        let sel = (0..x.ndim())
            .map(|a| {
                let (left, _) = extension(boundary, idx[a], x.grid.blocks(a).len(), depth[a]);
                (left, cs[a], 1i64)
            })
            .collect();
        let dep = low.need(x, idx);
        let args = SliceArgs { sel, out_shape: cs };
        low.push(node.key(idx), names::SLICE, encode_args(&args)?, vec![dep]);
    }
    Ok(())
}

/// A run of equal slots along one axis: `(slot, first output position, input positions)`.
type Run = (Option<u32>, usize, Vec<usize>);

/// The runs of equal slots along one axis.
fn runs(src: &[Option<(u32, u32)>]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for (i, s) in src.iter().enumerate() {
        let slot = s.map(|(k, _)| k);
        match out.last_mut() {
            Some((last, _, locals)) if *last == slot => {
                if let Some((_, p)) = s {
                    locals.push(*p as usize);
                } else {
                    locals.push(0);
                }
            }
            _ => out.push((slot, i, vec![s.map_or(0, |(_, p)| p as usize)])),
        }
    }
    out
}

fn overlap_typed<T: Element>(
    args: &OverlapArgs,
    views: &[ChunkView<'_>],
) -> Result<Bytes, ArrayError>
where
    f64: CastTo<T>,
{
    let fill: T = args.fill.cast();
    let mut out = ArrayD::<T>::from_elem(IxDyn(&args.out_shape), fill);
    let per_axis: Vec<Vec<Run>> = args.sources.iter().map(|s| runs(s)).collect();
    let dims: Vec<usize> = per_axis.iter().map(Vec::len).collect();
    for combo in all_indices(&dims) {
        let parts: Vec<&Run> = combo
            .iter()
            .enumerate()
            .map(|(a, &r)| &per_axis[a][r])
            .collect();
        if parts.iter().any(|p| p.0.is_none()) {
            continue;
        }
        let mut flat = 0usize;
        for (a, p) in parts.iter().enumerate() {
            flat = flat * args.slots[a] + p.0.unwrap_or(0) as usize;
        }
        let view = views.get(flat).ok_or_else(|| {
            ArrayError::Compute(format!("overlap reads input {flat} of {}", views.len()))
        })?;
        let mut block = view.array_view::<T>()?.to_owned();
        for (a, p) in parts.iter().enumerate() {
            if p.2.iter().any(|&i| i >= block.shape()[a]) {
                return Err(ArrayError::Compute(format!(
                    "overlap position out of a chunk of shape {:?}",
                    view.shape
                )));
            }
            block = block.select(Axis(a), &p.2);
        }
        out.slice_each_axis_mut(|ax| {
            let a = ax.axis.index();
            NdSlice::from(parts[a].1..parts[a].1 + parts[a].2.len())
        })
        .assign(&block);
    }
    encode_view(&out.view())
}

/// Kernel: an extended chunk gathered from its neighbours (and the boundary rule).
pub(crate) fn overlap_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: OverlapArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("overlap arguments: {e}")))?;
    if args.slots.len() != args.out_shape.len()
        || args.sources.len() != args.out_shape.len()
        || args
            .sources
            .iter()
            .zip(&args.out_shape)
            .any(|(s, &n)| s.len() != n)
        || args.slots.iter().product::<usize>() != inputs.len()
    {
        return Err(ArrayError::Compute(
            "overlap arguments do not match the inputs".into(),
        ));
    }
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    crate::dispatch_dtype!(args.dtype, T => overlap_typed::<T>(&args, &views))
}
