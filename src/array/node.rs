//! The lazy operation graph behind arrays: [`Node`]s (an operation, dtype, shape and chunk
//! grid) shared through `Arc`, each with a deterministic content id.
//!
//! The id is a SHA-256 of the operation's name, parameters, dtype, shape, grid and the ids of
//! its inputs, so the same expression always lowers to the same task keys. This module must
//! not lower anything to tasks.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::array::dtype::DType;
use crate::array::grid::ChunkGrid;
use crate::array::index::SlicePlan;
use crate::array::ops::{BinaryOp, UnaryOp};
use crate::array::program::Generator;
use crate::array::reduce::ReduceSpec;
use crate::array::shape_ops::ShapeOp;

/// A shared graph node.
pub(crate) type NodeRef = Arc<Node>;

/// An array operation and its inputs.
#[derive(Debug)]
pub(crate) enum Op {
    /// Values computed from element positions (fusable leaf).
    Generate(Generator),
    /// In-memory chunks (one encoded chunk per grid chunk, row-major chunk order).
    Chunks(Arc<Vec<Bytes>>),
    /// A registered kernel producing each chunk from user arguments and the block position.
    Kernel { name: String, args: Bytes },
    /// Elementwise `op(x)` (fusable).
    Unary { op: UnaryOp, x: NodeRef },
    /// Elementwise `op(a, b)` with broadcasting (fusable).
    Binary {
        op: BinaryOp,
        a: NodeRef,
        b: NodeRef,
    },
    /// Elementwise `cond ? a : b` with broadcasting (fusable).
    Where {
        cond: NodeRef,
        a: NodeRef,
        b: NodeRef,
    },
    /// Elementwise conversion to the node's dtype (fusable).
    Cast { x: NodeRef },
    /// A reduction.
    Reduce { x: NodeRef, spec: ReduceSpec },
    /// Basic indexing (integers, slices, new axes).
    Slice { x: NodeRef, plan: Arc<SlicePlan> },
    /// Re-cutting into the node's grid.
    Rechunk { x: NodeRef },
    /// Shape operations with their own lowering.
    Shape { inputs: Vec<NodeRef>, op: ShapeOp },
}

/// One node of the array graph.
#[derive(Debug)]
pub(crate) struct Node {
    pub op: Op,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub grid: ChunkGrid,
    pub id: String,
    /// Elementwise operations a fused program for this node contains (0 for generators and
    /// non-fusable nodes); a child above [`MAX_FUSED_OPS`] is computed as its own task, so
    /// programs, and graphs of long programs, stay linear in the program's length.
    pub fuse_weight: u32,
}

/// The most elementwise operations one fused program inlines from a shared or long chain:
/// beyond it the chain is cut and the node below becomes a task of its own.
pub(crate) const MAX_FUSED_OPS: u32 = 48;

impl Node {
    /// True when a fused consumer loads this node's chunks instead of inlining its program.
    pub(crate) fn fuse_cut(&self) -> bool {
        self.fuse_weight > MAX_FUSED_OPS
    }
}

fn param_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

impl Op {
    /// Short name used in task keys.
    pub(crate) fn name(&self) -> String {
        match self {
            Op::Generate(g) => g.name().to_string(),
            Op::Chunks(_) => "array".into(),
            Op::Kernel { name, .. } => {
                name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
            }
            Op::Unary { op, .. } => op.name().into(),
            Op::Binary { op, .. } => op.name().into(),
            Op::Where { .. } => "where".into(),
            Op::Cast { .. } => "astype".into(),
            Op::Reduce { spec, .. } => spec.kind.name().into(),
            Op::Slice { .. } => "getitem".into(),
            Op::Rechunk { .. } => "rechunk".into(),
            Op::Shape { op, .. } => op.name().into(),
        }
    }

    /// The inputs of the operation.
    pub(crate) fn children(&self) -> Vec<&NodeRef> {
        match self {
            Op::Generate(_) | Op::Chunks(_) | Op::Kernel { .. } => vec![],
            Op::Unary { x, .. }
            | Op::Cast { x }
            | Op::Reduce { x, .. }
            | Op::Slice { x, .. }
            | Op::Rechunk { x } => {
                vec![x]
            }
            Op::Binary { a, b, .. } => vec![a, b],
            Op::Where { cond, a, b } => vec![cond, a, b],
            Op::Shape { inputs, .. } => inputs.iter().collect(),
        }
    }

    /// True for operations that fuse into one per-chunk program.
    pub(crate) fn is_fusable(&self) -> bool {
        matches!(
            self,
            Op::Generate(_)
                | Op::Unary { .. }
                | Op::Binary { .. }
                | Op::Where { .. }
                | Op::Cast { .. }
        )
    }

    fn params(&self) -> Vec<u8> {
        match self {
            Op::Generate(g) => param_bytes(g),
            Op::Chunks(chunks) => {
                let mut h = Sha256::new();
                for c in chunks.iter() {
                    h.update((c.len() as u64).to_le_bytes());
                    h.update(c);
                }
                h.finalize().to_vec()
            }
            Op::Kernel { name, args } => param_bytes(&(name, args.as_ref())),
            Op::Unary { op, .. } => param_bytes(op),
            Op::Binary { op, .. } => param_bytes(op),
            Op::Reduce { spec, .. } => param_bytes(spec),
            Op::Slice { plan, .. } => param_bytes(&**plan),
            Op::Shape { op, .. } => param_bytes(op),
            Op::Where { .. } | Op::Cast { .. } | Op::Rechunk { .. } => vec![],
        }
    }
}

impl Node {
    /// A node with its content id computed.
    pub(crate) fn new(op: Op, dtype: DType, shape: Vec<usize>, grid: ChunkGrid) -> NodeRef {
        let mut h = Sha256::new();
        h.update(op.name().as_bytes());
        h.update([0, dtype.code()]);
        h.update(op.params());
        h.update(param_bytes(&shape));
        h.update(param_bytes(&grid));
        for c in op.children() {
            h.update(c.id.as_bytes());
        }
        let fuse_weight = match &op {
            Op::Unary { .. } | Op::Binary { .. } | Op::Where { .. } | Op::Cast { .. } => op
                .children()
                .iter()
                .filter(|c| c.op.is_fusable() && !c.fuse_cut())
                .fold(1u32, |acc, c| acc.saturating_add(c.fuse_weight)),
            _ => 0,
        };
        let digest = h.finalize();
        let mut id = String::with_capacity(16);
        for b in &digest[..8] {
            let _ = write!(id, "{b:02x}");
        }
        Arc::new(Node {
            op,
            dtype,
            shape,
            grid,
            id,
            fuse_weight,
        })
    }

    /// The task key of chunk `idx`: `<name>-<id>[-i]*`.
    pub(crate) fn key(&self, idx: &[usize]) -> String {
        let mut k = format!("{}-{}", self.op.name(), self.id);
        for i in idx {
            let _ = write!(k, "-{i}");
        }
        k
    }

    /// Number of axes.
    pub(crate) fn ndim(&self) -> usize {
        self.shape.len()
    }
}
