//! Moving basic slices towards the leaves of the graph, so that only the selected elements are
//! generated and combined: `mean(x + x.T, axis=0)[:10]` becomes
//! `mean(x[:, :10] + x[:10, :].T, axis=0)`, and a slice of a generator re-cuts the generator so
//! the slice starts and stops on block boundaries (chunks outside it are culled, chunks inside
//! hold only selected elements).
//!
//! Only slices with positive steps and no integer or new-axis items move; they pass through
//! elementwise operations whose operands have the full shape (or are 0-d), transposes, and
//! reductions over other axes. Anything else is sliced where it stands. The rewrite never
//! changes values. This module builds nodes; it must not lower or compute.

use crate::array::array::Array;
use crate::array::elementwise::{regrid, Operand};
use crate::array::error::ArrayError;
use crate::array::index::IndexItem;
use crate::array::node::{NodeRef, Op};
use crate::array::reduce::ReduceOptions;
use crate::array::shape_ops::ShapeOp;

/// One axis of a slice: positions `first, first + step, ...`, `count` of them (step ≥ 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisRange {
    pub first: usize,
    pub count: usize,
    pub step: usize,
}

impl AxisRange {
    fn is_full(&self, len: usize) -> bool {
        self.first == 0 && self.count == len && self.step == 1
    }

    fn item(&self) -> IndexItem {
        let stop = if self.count == 0 {
            self.first
        } else {
            self.first + (self.count - 1) * self.step + 1
        };
        IndexItem::slice(Some(self.first as i64), Some(stop as i64), self.step as i64)
    }
}

/// `node[ranges]` (one range per axis), with the slice moved as far down as it goes.
pub(crate) fn slice_pushed_down(node: &NodeRef, ranges: &[AxisRange]) -> Result<Array, ArrayError> {
    if ranges.len() != node.ndim() {
        return Err(ArrayError::BadIndex(format!(
            "{} ranges for an array of {} dimensions",
            ranges.len(),
            node.ndim()
        )));
    }
    if ranges.iter().zip(&node.shape).all(|(r, &n)| r.is_full(n)) {
        return Ok(Array::from_node(node.clone()));
    }
    if ranges.iter().any(|r| r.count == 0) {
        // Empty selections stay where they are: nothing below needs to run at all.
        return sliced_in_place(node, ranges);
    }
    match &node.op {
        Op::Unary { op, x } if x.shape == node.shape => slice_pushed_down(x, ranges)?.unary(*op),
        Op::Cast { x } if x.shape == node.shape => {
            Ok(slice_pushed_down(x, ranges)?.astype(node.dtype))
        }
        Op::Binary { op, a, b } if full_or_scalar(a, node) && full_or_scalar(b, node) => {
            let a = operand(a, ranges)?;
            let b = operand(b, ranges)?;
            let out = Array::binary_op(*op, a, b)?;
            // Typing was decided when the node was built; keep its dtype exactly.
            Ok(if out.dtype() == node.dtype {
                out
            } else {
                out.astype(node.dtype)
            })
        }
        Op::Shape {
            inputs,
            op: ShapeOp::Transpose { perm },
        } if inputs.len() == 1 => {
            let mut inner = vec![
                AxisRange {
                    first: 0,
                    count: 0,
                    step: 1
                };
                perm.len()
            ];
            for (o, &p) in perm.iter().enumerate() {
                inner[p] = ranges[o];
            }
            slice_pushed_down(&inputs[0], &inner)?.permute(perm)
        }
        Op::Reduce { x, spec } => {
            let mut inner = Vec::with_capacity(x.ndim());
            let mut out_axis = 0;
            for a in 0..x.ndim() {
                if spec.axes.contains(&a) {
                    inner.push(AxisRange {
                        first: 0,
                        count: x.shape[a],
                        step: 1,
                    });
                    if spec.keepdims {
                        out_axis += 1;
                    }
                } else {
                    inner.push(ranges[out_axis]);
                    out_axis += 1;
                }
            }
            let opts = ReduceOptions::axes(spec.axes.iter().map(|&a| a as isize))
                .keepdims(spec.keepdims)
                .split_every(spec.split_every);
            slice_pushed_down(x, &inner)?.reduce(spec.kind, &opts)
        }
        Op::Generate(_) if ranges.iter().all(|r| r.step == 1) => {
            // Re-cut the generator (free) so the slice starts and stops on block boundaries.
            let blocks: Vec<Vec<usize>> = ranges
                .iter()
                .enumerate()
                .map(|(a, r)| {
                    let mut cuts = node.grid.offsets(a);
                    cuts.push(r.first);
                    cuts.push(r.first + r.count);
                    cuts.sort_unstable();
                    cuts.dedup();
                    cuts.windows(2).map(|w| w[1] - w[0]).collect()
                })
                .collect();
            let recut = regrid(node, blocks)?;
            sliced_in_place(&recut, ranges)
        }
        _ => sliced_in_place(node, ranges),
    }
}

/// `node[ranges]` without moving the slice.
fn sliced_in_place(node: &NodeRef, ranges: &[AxisRange]) -> Result<Array, ArrayError> {
    let items: Vec<IndexItem> = ranges.iter().map(AxisRange::item).collect();
    Array::from_node(node.clone()).index_in_place(&items)
}

fn full_or_scalar(operand: &NodeRef, node: &NodeRef) -> bool {
    operand.shape == node.shape || operand.ndim() == 0
}

fn operand(x: &NodeRef, ranges: &[AxisRange]) -> Result<Operand, ArrayError> {
    Ok(Operand::Array(if x.ndim() == 0 {
        Array::from_node(x.clone())
    } else {
        slice_pushed_down(x, ranges)?
    }))
}

#[cfg(test)]
mod tests {
    use crate::array::{Array, DType, IndexItem, ReduceOptions};

    fn both(a: &Array, items: &[IndexItem]) -> (Array, Array) {
        (
            a.index(items).expect("pushed down"),
            a.index_in_place(items).expect("in place"),
        )
    }

    #[test]
    fn pushed_down_slices_give_the_same_values_from_fewer_elements() {
        let x = Array::random_uniform(&[40, 40], 3, 0.0, 1.0, [16, 16]).expect("x");
        let s = (&x + &x.t()).expect("x + x.T");
        let m = s.mean(0).expect("mean");
        let items = [IndexItem::slice(None, Some(5), 1)];
        let (pushed, in_place) = both(&m, &items);
        let a = pushed.compute_local().expect("pushed").to_f64_vec();
        let b = in_place.compute_local().expect("in place").to_f64_vec();
        assert_eq!(a.len(), 5);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-15 * q.abs(), "{p} vs {q}");
        }
        // Only 5 columns of x and 5 rows of x are generated: every task is small.
        let g = pushed.graph().expect("graph");
        assert!(g.tasks.iter().all(|t| t.args.len() < 4096));
    }

    #[test]
    fn slices_with_steps_through_casts_scalars_and_keepdims() {
        let x = Array::arange(0, 24 * 10, 1, DType::I32, 7)
            .expect("arange")
            .reshape(&[24, 10])
            .expect("reshape");
        let y = ((&x * 2).expect("2x") + 1.5).expect("+1.5");
        let r = y.sum(ReduceOptions::axes([1]).keepdims(true)).expect("sum");
        for items in [
            vec![IndexItem::slice(Some(3), Some(20), 4), IndexItem::full()],
            vec![IndexItem::slice(Some(23), None, 1)],
            vec![IndexItem::slice(Some(5), Some(5), 1)],
        ] {
            let (pushed, in_place) = both(&r, &items);
            assert_eq!(pushed.shape(), in_place.shape());
            assert_eq!(
                pushed.compute_local().expect("pushed"),
                in_place.compute_local().expect("in place")
            );
        }
        let (pushed, in_place) = both(
            &y,
            &[IndexItem::full(), IndexItem::slice(Some(1), Some(9), 3)],
        );
        assert_eq!(
            pushed.compute_local().expect("pushed"),
            in_place.compute_local().expect("in place")
        );
    }
}
