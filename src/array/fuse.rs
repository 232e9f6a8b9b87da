//! Fusion: a maximal subtree of elementwise operations and generators under one node compiles
//! to one [`Program`]; the non-fusable nodes at its edge become the program's loaded inputs,
//! and so do elementwise nodes whose own program is already long (`Node::fuse_cut`), so a
//! program of thousands of statements lowers to a graph linear in its length.
//!
//! Per output chunk, [`Region::instantiate`] computes how every leaf is addressed (broadcast
//! axes get stride 0, generators get global flat positions). This module must not emit tasks.

use std::collections::HashMap;

use crate::array::error::ArrayError;
use crate::array::node::{NodeRef, Op};
use crate::array::program::{Generator, Instr, Program};
use crate::array::walker::Strided;

/// A leaf of a fused region.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    pub node: NodeRef,
    /// `Some(i)`: loaded from task input `i`; `None`: a generator computed in place.
    pub input: Option<u32>,
}

/// A compiled fused region.
#[derive(Clone, Debug)]
pub(crate) struct Region {
    pub program: Program,
    /// One per map index of the program.
    pub leaves: Vec<Leaf>,
}

/// One chunk's view of a region: maps per leaf, and (leaf, leaf chunk index) per task input.
pub(crate) struct Instance {
    pub maps: Vec<Strided>,
    pub inputs: Vec<(NodeRef, Vec<usize>)>,
}

struct Compiler {
    instrs: Vec<Instr>,
    leaves: Vec<Leaf>,
    memo: HashMap<String, u32>,
    loads: u32,
}

impl Compiler {
    fn push(&mut self, i: Instr) -> u32 {
        self.instrs.push(i);
        (self.instrs.len() - 1) as u32
    }

    fn visit(&mut self, node: &NodeRef, root: bool) -> u32 {
        if let Some(&r) = self.memo.get(&node.id) {
            return r;
        }
        let dtype = node.dtype;
        let r = if !node.op.is_fusable() || (!root && node.fuse_cut()) {
            let map = self.leaves.len() as u32;
            let input = self.loads;
            self.loads += 1;
            self.leaves.push(Leaf {
                node: node.clone(),
                input: Some(input),
            });
            self.push(Instr::Load { input, map, dtype })
        } else {
            match &node.op {
                Op::Generate(Generator::Full(value)) => self.push(Instr::Const {
                    value: *value,
                    dtype,
                }),
                Op::Generate(gen) => {
                    let map = self.leaves.len() as u32;
                    self.leaves.push(Leaf {
                        node: node.clone(),
                        input: None,
                    });
                    self.push(Instr::Gen {
                        gen: gen.clone(),
                        map,
                        dtype,
                    })
                }
                Op::Unary { op, x } => {
                    let src = self.visit(x, false);
                    self.push(Instr::Unary {
                        op: *op,
                        src,
                        dtype,
                    })
                }
                Op::Binary { op, a, b } => {
                    let a = self.visit(a, false);
                    let b = self.visit(b, false);
                    self.push(Instr::Binary {
                        op: *op,
                        a,
                        b,
                        dtype,
                    })
                }
                Op::Where { cond, a, b } => {
                    let cond = self.visit(cond, false);
                    let a = self.visit(a, false);
                    let b = self.visit(b, false);
                    self.push(Instr::Where { cond, a, b, dtype })
                }
                Op::Cast { x } => {
                    let src = self.visit(x, false);
                    self.push(Instr::Cast { src, dtype })
                }
                _ => unreachable!("checked fusable above"),
            }
        };
        self.memo.insert(node.id.clone(), r);
        r
    }
}

/// Compiles the fused region under `root` (a non-fusable root becomes a single load).
pub(crate) fn compile(root: &NodeRef) -> Region {
    let mut c = Compiler {
        instrs: Vec::new(),
        leaves: Vec::new(),
        memo: HashMap::new(),
        loads: 0,
    };
    c.visit(root, true);
    Region {
        program: Program { instrs: c.instrs },
        leaves: c.leaves,
    }
}

fn row_major(shape: &[usize]) -> Vec<u64> {
    let mut s = vec![0u64; shape.len()];
    let mut acc = 1u64;
    for a in (0..shape.len()).rev() {
        s[a] = acc;
        acc *= shape[a] as u64;
    }
    s
}

impl Region {
    /// Maps and inputs for the chunk of the output (of `ndim` axes) at block index `idx`, with
    /// shape `chunk_shape` and global origin `origin`.
    pub(crate) fn instantiate(
        &self,
        idx: &[usize],
        chunk_shape: &[usize],
        origin: &[usize],
    ) -> Result<Instance, ArrayError> {
        let n = idx.len();
        let mut maps = Vec::with_capacity(self.leaves.len());
        let mut inputs = Vec::new();
        for leaf in &self.leaves {
            let node = &leaf.node;
            let m = node.ndim();
            if m > n {
                return Err(ArrayError::Shape {
                    op: "fuse",
                    reason: format!(
                        "operand of shape {:?} has more axes than the result",
                        node.shape
                    ),
                });
            }
            let off = n - m;
            let bcast = |i: usize| i < off || node.shape[i - off] == 1;
            let mut strides = vec![0u64; n];
            let mut base = 0u64;
            match leaf.input {
                Some(_) => {
                    let lidx: Vec<usize> = (0..m)
                        .map(|j| if node.shape[j] == 1 { 0 } else { idx[j + off] })
                        .collect();
                    let lshape = node.grid.chunk_shape(&lidx);
                    for j in 0..m {
                        if node.shape[j] != 1 && lshape[j] != chunk_shape[j + off] {
                            return Err(ArrayError::Shape {
                                op: "fuse",
                                reason: format!(
                                    "operand chunk {lidx:?} of shape {lshape:?} does not line up with result chunk {idx:?} of shape {chunk_shape:?}"
                                ),
                            });
                        }
                    }
                    let rs = row_major(&lshape);
                    for i in off..n {
                        if !bcast(i) {
                            strides[i] = rs[i - off];
                        }
                    }
                    inputs.push((node.clone(), lidx));
                }
                None => {
                    let gs = row_major(&node.shape);
                    for i in off..n {
                        if !bcast(i) {
                            strides[i] = gs[i - off];
                            base += origin[i] as u64 * gs[i - off];
                        }
                    }
                }
            }
            maps.push(Strided { base, strides });
        }
        Ok(Instance { maps, inputs })
    }
}

#[cfg(test)]
mod tests {
    use crate::array::{Array, ReduceOptions};

    /// Tasks and argument bytes of `x = x - mean(x)` repeated `n` times, then `sum(x)`.
    fn graph_of_anomalies(n: usize) -> (usize, usize) {
        let mut x = Array::random_uniform(&[40, 40], 1, 0.0, 1.0, 20).expect("x");
        for _ in 0..n {
            let m = x.mean(ReduceOptions::all()).expect("mean");
            x = x.sub(&m).expect("anomaly");
        }
        let g = x
            .sum(ReduceOptions::all())
            .expect("sum")
            .graph()
            .expect("graph");
        let bytes = g
            .tasks
            .iter()
            .map(|t| t.args.len() + t.deps.len() * 32)
            .sum();
        (g.tasks.len(), bytes)
    }

    #[test]
    fn long_programs_lower_to_graphs_linear_in_their_length() {
        let (t1, b1) = graph_of_anomalies(300);
        let (t2, b2) = graph_of_anomalies(1_200);
        // Four times the statements: about four times the tasks and bytes, not sixteen.
        assert!(t2 <= 5 * t1, "tasks {t1} -> {t2}");
        assert!(b2 <= 5 * b1, "argument bytes {b1} -> {b2}");
        assert!(b2 < 64 << 20, "{b2} bytes for 1,200 statements");
    }

    #[test]
    fn short_chains_still_fuse_into_one_task_per_chunk() {
        let x = Array::random_uniform(&[40, 40], 1, 0.0, 1.0, 20).expect("x");
        let mut y = x.clone();
        for _ in 0..10 {
            y = ((&y * 2.0).expect("mul") + 1.0).expect("add");
        }
        assert_eq!(y.graph().expect("graph").tasks.len(), 4);
    }
}
