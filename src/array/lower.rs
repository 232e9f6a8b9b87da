//! Lowering an array graph to [`TaskSpec`]s with deterministic keys, culled to the chunks the
//! wanted output chunks actually need.
//!
//! Nodes are visited consumers-first; each visited node emits tasks only for the chunks some
//! consumer asked for, and asks its own inputs for exactly the chunks those tasks read. Fusable
//! nodes feeding a fusing consumer emit nothing: they are compiled into the consumer's program.
//! This module must not run tasks.

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::error::ArrayError;
use crate::array::fuse::{self, Region};
use crate::array::kernels::names;
use crate::array::node::{NodeRef, Op};
use crate::array::program::Program;
use crate::array::walker::Strided;
use crate::array::{index, reduce, shape_ops};
use crate::core::{TaskKey, TaskSpec};

/// A lowered array: the tasks, and the key of every wanted output chunk.
#[derive(Clone, Debug)]
pub struct ArrayGraph {
    /// Tasks in dependency order (every task after the tasks it reads).
    pub tasks: Vec<TaskSpec>,
    /// `(chunk index, key)` of the wanted output chunks, in the order asked for.
    pub outputs: Vec<(Vec<usize>, TaskKey)>,
}

/// Arguments of the fused elementwise kernel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FusedArgs {
    pub program: Program,
    pub shape: Vec<usize>,
    pub maps: Vec<Strided>,
}

/// Arguments given to a registered generator kernel for one chunk.
///
/// A kernel used with [`Array::from_kernel`](crate::array::Array::from_kernel) decodes these
/// with [`BlockArgs::decode`] and returns an encoded chunk of `chunk_shape` and `dtype`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockArgs {
    /// The user's argument bytes.
    pub user: Vec<u8>,
    /// Block index of the chunk.
    pub block: Vec<usize>,
    /// Global position of the chunk's first element.
    pub origin: Vec<usize>,
    /// Shape of the chunk.
    pub chunk_shape: Vec<usize>,
    /// Shape of the whole array.
    pub array_shape: Vec<usize>,
    /// Element type the chunk must have.
    pub dtype: crate::array::DType,
}

impl BlockArgs {
    /// Decodes a kernel's argument bytes.
    pub fn decode(args: &[u8]) -> Result<BlockArgs, ArrayError> {
        postcard::from_bytes(args).map_err(|e| ArrayError::Decode(format!("block arguments: {e}")))
    }
}

/// A kernel's arguments decoded; `what` names them in the error (`"slice"`).
pub(crate) fn decode_args<T: serde::de::DeserializeOwned>(
    args: &[u8],
    what: &str,
) -> Result<T, ArrayError> {
    postcard::from_bytes(args).map_err(|e| ArrayError::Decode(format!("{what} arguments: {e}")))
}

/// The only input chunk of a one-input kernel, decoded.
pub(crate) fn single_input<'a>(
    inputs: &'a [Bytes],
    what: &str,
) -> Result<crate::array::ChunkView<'a>, ArrayError> {
    let input = inputs
        .first()
        .ok_or_else(|| ArrayError::Compute(format!("{what} without input")))?;
    crate::array::decode_chunk(input)
}

/// Serialises kernel arguments.
pub(crate) fn encode_args<T: Serialize>(value: &T) -> Result<Bytes, ArrayError> {
    postcard::to_allocvec(value)
        .map(Bytes::from)
        .map_err(|e| ArrayError::Compute(format!("cannot encode task arguments: {e}")))
}

/// The most tasks one lowering may produce (about 2 million): a graph beyond it is refused
/// before its tasks are built, with the estimate in the message.
pub const MAX_TASKS: u128 = 1 << 21;

/// The state of one lowering.
pub(crate) struct Lowering {
    tasks: Vec<TaskSpec>,
    emitted: HashSet<String>,
    needed: HashMap<String, BTreeSet<Vec<usize>>>,
    /// Tasks the nodes lowered so far announced (an upper bound of `tasks.len()`).
    planned: u128,
}

/// Tasks lowering `node` for `chunks` output chunks emits, at most (reductions: a partial per
/// input chunk plus the combine tree; matrix products: a product per pair of blocks).
fn planned_tasks(node: &NodeRef, chunks: usize) -> u128 {
    let chunks = chunks as u128;
    match &node.op {
        Op::Reduce { x, spec } => {
            let bpa = x.grid.blocks_per_axis();
            let per_output: u128 = spec.axes.iter().map(|&a| bpa[a] as u128).product();
            // A tree of fan-in k over n leaves has fewer than n / (k - 1) + 1 inner nodes.
            let k = spec.split_every.max(2) as u128;
            chunks * (per_output + per_output / (k - 1) + 1)
        }
        Op::Shape {
            inputs,
            op: shape_ops::ShapeOp::MatMul,
        } => {
            let nk = inputs[0].grid.blocks(1).len() as u128;
            chunks * (2 * nk + 1)
        }
        op if op.is_fusable() => chunks,
        _ => chunks.saturating_mul(2),
    }
}

/// Bytes of every distinct node of the graph under `root` (what its chunks hold in all).
fn graph_bytes(order: &[NodeRef]) -> u128 {
    order
        .iter()
        .map(|n| n.shape.iter().map(|&d| d as u128).product::<u128>() * n.dtype.itemsize() as u128)
        .sum()
}

/// The error for a graph of about `tasks` tasks.
fn too_many_tasks(tasks: u128, order: &[NodeRef]) -> ArrayError {
    ArrayError::TooManyTasks {
        tasks,
        bytes: graph_bytes(order),
        limit: MAX_TASKS,
    }
}

impl Lowering {
    /// Records that chunk `idx` of `node` is needed and returns its key.
    pub(crate) fn need(&mut self, node: &NodeRef, idx: &[usize]) -> TaskKey {
        self.needed
            .entry(node.id.clone())
            .or_default()
            .insert(idx.to_vec());
        TaskKey::new(node.key(idx))
    }

    /// Adds a task (once per key).
    pub(crate) fn push(
        &mut self,
        key: impl Into<String>,
        kernel: &str,
        args: Bytes,
        deps: Vec<TaskKey>,
    ) {
        let key = key.into();
        if self.emitted.insert(key.clone()) {
            self.tasks.push(TaskSpec::new(key, kernel, args, deps));
        }
    }

    /// Maps and input keys of `region` for the result chunk `idx` of a node shaped like the
    /// region's root.
    pub(crate) fn region_inputs(
        &mut self,
        region: &Region,
        root: &NodeRef,
        idx: &[usize],
    ) -> Result<(Vec<Strided>, Vec<TaskKey>), ArrayError> {
        let cs = root.grid.chunk_shape(idx);
        let origin = root.grid.chunk_origin(idx);
        let inst = region.instantiate(idx, &cs, &origin)?;
        let deps = inst.inputs.iter().map(|(n, i)| self.need(n, i)).collect();
        Ok((inst.maps, deps))
    }
}

fn post_order(root: &NodeRef) -> Vec<NodeRef> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    // Iterative DFS: (node, children pushed?).
    let mut stack = vec![(root.clone(), false)];
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            out.push(node);
            continue;
        }
        if !seen.insert(node.id.clone()) {
            continue;
        }
        stack.push((node.clone(), true));
        for c in node.op.children().into_iter().rev() {
            if !seen.contains(&c.id) {
                stack.push((c.clone(), false));
            }
        }
    }
    out
}

/// Lowers `root` for the chunks `wanted` (block indices; all chunks when `None`).
pub(crate) fn lower(
    root: &NodeRef,
    wanted: Option<&[Vec<usize>]>,
) -> Result<ArrayGraph, ArrayError> {
    let order = post_order(root);
    if wanted.is_none() && root.grid.num_chunks() as u128 > MAX_TASKS {
        return Err(too_many_tasks(root.grid.num_chunks() as u128, &order));
    }
    let wanted: Vec<Vec<usize>> = match wanted {
        Some(w) => w.to_vec(),
        None => root.grid.chunk_indices(),
    };
    let bpa = root.grid.blocks_per_axis();
    for w in &wanted {
        if w.len() != bpa.len() || w.iter().zip(&bpa).any(|(&i, &n)| i >= n) {
            return Err(ArrayError::BadIndex(format!(
                "chunk {w:?} does not exist in a grid of {bpa:?} blocks"
            )));
        }
    }
    let mut low = Lowering {
        tasks: Vec::new(),
        emitted: HashSet::new(),
        needed: HashMap::new(),
        planned: 0,
    };
    let outputs = wanted
        .iter()
        .map(|w| (w.clone(), low.need(root, w)))
        .collect();
    for (position, node) in order.iter().enumerate().rev() {
        let Some(chunks) = low.needed.remove(&node.id) else {
            continue;
        };
        low.planned += planned_tasks(node, chunks.len());
        if low.planned > MAX_TASKS {
            // The nodes not lowered yet need at least one task per chunk they hold.
            let rest: u128 = order[..position]
                .iter()
                .map(|n| n.grid.num_chunks() as u128)
                .sum();
            return Err(too_many_tasks(low.planned + rest, &order));
        }
        let chunks: Vec<Vec<usize>> = chunks.into_iter().collect();
        lower_node(&mut low, node, &chunks)?;
    }
    Ok(ArrayGraph {
        tasks: dependency_order(low.tasks),
        outputs,
    })
}

/// The tasks reordered so every task comes after the tasks (of this list) it reads.
fn dependency_order(mut tasks: Vec<TaskSpec>) -> Vec<TaskSpec> {
    // Tasks were emitted consumers-first; a stable reverse is almost sorted already, and a DFS
    // from each task fixes the rest.
    tasks.reverse();
    let pos: HashMap<TaskKey, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.key.clone(), i))
        .collect();
    let mut placed = vec![false; tasks.len()];
    let mut order = Vec::with_capacity(tasks.len());
    for start in 0..tasks.len() {
        if placed[start] {
            continue;
        }
        let mut stack = vec![(start, false)];
        while let Some((i, expanded)) = stack.pop() {
            if expanded {
                if !placed[i] {
                    placed[i] = true;
                    order.push(i);
                }
                continue;
            }
            if placed[i] {
                continue;
            }
            stack.push((i, true));
            for d in &tasks[i].deps {
                if let Some(&j) = pos.get(d) {
                    if !placed[j] {
                        stack.push((j, false));
                    }
                }
            }
        }
    }
    let mut slots: Vec<Option<TaskSpec>> = tasks.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn lower_node(low: &mut Lowering, node: &NodeRef, chunks: &[Vec<usize>]) -> Result<(), ArrayError> {
    match &node.op {
        Op::Chunks(data) => {
            let bpa = node.grid.blocks_per_axis();
            for idx in chunks {
                let flat = idx
                    .iter()
                    .zip(&bpa)
                    .fold(0usize, |acc, (&i, &n)| acc * n + i);
                let bytes = data.get(flat).cloned().ok_or_else(|| {
                    ArrayError::Compute(format!("in-memory array has no chunk {idx:?}"))
                })?;
                low.push(node.key(idx), names::CHUNK, bytes, vec![]);
            }
        }
        Op::Kernel { name, args } => {
            for idx in chunks {
                let a = BlockArgs {
                    user: args.to_vec(),
                    block: idx.clone(),
                    origin: node.grid.chunk_origin(idx),
                    chunk_shape: node.grid.chunk_shape(idx),
                    array_shape: node.shape.clone(),
                    dtype: node.dtype,
                };
                low.push(node.key(idx), name, encode_args(&a)?, vec![]);
            }
        }
        op if op.is_fusable() => {
            let region = fuse::compile(node);
            for idx in chunks {
                let (maps, deps) = low.region_inputs(&region, node, idx)?;
                let args = FusedArgs {
                    program: region.program.clone(),
                    shape: node.grid.chunk_shape(idx),
                    maps,
                };
                low.push(node.key(idx), names::FUSED, encode_args(&args)?, deps);
            }
        }
        Op::Reduce { x, spec } => reduce::lower(low, node, x, spec, chunks)?,
        Op::Slice { x, plan } => index::lower(low, node, x, plan, chunks)?,
        Op::Rechunk { x } => shape_ops::lower_rechunk(low, node, x, chunks)?,
        Op::Shape { inputs, op } => shape_ops::lower(low, node, inputs, op, chunks)?,
        _ => unreachable!("fusable operations are handled above"),
    }
    Ok(())
}
