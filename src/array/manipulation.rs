//! NumPy's rearranging functions built from the lazy primitives (slices, `take`,
//! `concatenate`, `permute`, `where`): `flip`, `roll`, `swapaxes`, `moveaxis`, `repeat`,
//! `tile`, `pad` (constant, edge, reflect, wrap), `triu`/`tril`, `full_like`, `meshgrid`
//! and `vstack`/`hstack`. Each result is a graph of existing nodes, so it is chunked and lazy
//! like them. This module must not compute anything.

use crate::array::array::Array;
use crate::array::dtype::{DType, Scalar};
use crate::array::error::ArrayError;
use crate::array::grid::ChunkSpec;
use crate::array::index::IndexItem;
use crate::array::reduce::normalize_axes;

/// How `pad` fills the new cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// A constant value.
    Constant(Scalar),
    /// The edge value repeated.
    Edge,
    /// Mirrored without repeating the edge (NumPy's `reflect`).
    Reflect,
    /// Wrapped around (periodic).
    Wrap,
}

fn shape_error(op: &'static str, reason: String) -> ArrayError {
    ArrayError::Shape { op, reason }
}

/// The most positions `repeat`, `tile` and `pad` list for one `take` (the list lives in the
/// graph: 16 Mi positions are 128 MiB).
const MAX_POSITIONS: usize = 1 << 24;

/// `n * r` positions along `axis` for `op`, refused when they overflow or exceed
/// [`MAX_POSITIONS`].
fn positions(op: &'static str, axis: usize, n: usize, r: usize) -> Result<usize, ArrayError> {
    match n.checked_mul(r) {
        Some(t) if t <= MAX_POSITIONS => Ok(t),
        _ => Err(shape_error(
            op,
            format!("axis {axis} of length {n} times {r} exceeds {MAX_POSITIONS} positions"),
        )),
    }
}

/// Items indexing `axis` with `item` and every other axis whole.
fn along(ndim: usize, axis: usize, item: IndexItem) -> Vec<IndexItem> {
    (0..ndim)
        .map(|a| if a == axis { item } else { IndexItem::full() })
        .collect()
}

impl Array {
    /// The same chunk layout as this array, for arrays of its shape.
    fn same_chunks(&self) -> ChunkSpec {
        ChunkSpec::Blocks(self.chunks().all_blocks().to_vec())
    }

    /// Elements in reverse order along `axes` (all axes when `None`), NumPy's `flip`.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0, 5, 1, DType::I64, 2).unwrap();
    /// let b = a.flip(None).unwrap();
    /// assert_eq!(b.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[4, 3, 2, 1, 0]);
    /// ```
    pub fn flip(&self, axes: Option<&[isize]>) -> Result<Array, ArrayError> {
        let axes = match axes {
            Some(a) => normalize_axes(a, self.ndim())?,
            None => (0..self.ndim()).collect(),
        };
        let items: Vec<IndexItem> = (0..self.ndim())
            .map(|a| {
                if axes.contains(&a) {
                    IndexItem::slice(None, None, -1)
                } else {
                    IndexItem::full()
                }
            })
            .collect();
        self.index(&items)
    }

    /// Elements shifted by `shift` positions along `axis`, those past the end coming back at
    /// the start (NumPy's `roll`; the flattened array when `axis` is `None`).
    pub fn roll(&self, shift: i64, axis: Option<isize>) -> Result<Array, ArrayError> {
        let Some(axis) = axis else {
            return self.ravel()?.roll(shift, Some(0))?.reshape(self.shape());
        };
        let axis = normalize_axes(&[axis], self.ndim())?[0];
        let n = self.shape()[axis] as i64;
        if n == 0 || shift.rem_euclid(n) == 0 {
            return Ok(self.clone());
        }
        let cut = n - shift.rem_euclid(n);
        let tail = self.index(&along(
            self.ndim(),
            axis,
            IndexItem::slice(Some(cut), None, 1),
        ))?;
        let head = self.index(&along(
            self.ndim(),
            axis,
            IndexItem::slice(None, Some(cut), 1),
        ))?;
        Array::concatenate(&[tail, head], axis as isize)
    }

    /// Axes `a` and `b` exchanged (NumPy's `swapaxes`).
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Array, ArrayError> {
        let ab = normalize_axes(&[a], self.ndim())?[0];
        let bb = normalize_axes(&[b], self.ndim())?[0];
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(ab, bb);
        self.permute(&perm)
    }

    /// Axes `source` moved to positions `destination`, the others keeping their order
    /// (NumPy's `moveaxis`).
    pub fn moveaxis(&self, source: &[isize], destination: &[isize]) -> Result<Array, ArrayError> {
        if source.len() != destination.len() {
            return Err(shape_error(
                "moveaxis",
                format!(
                    "{} source axes but {} destinations",
                    source.len(),
                    destination.len()
                ),
            ));
        }
        let nd = self.ndim();
        // One at a time: `normalize_axes` sorts what it is given.
        let each = |axes: &[isize]| -> Result<Vec<usize>, ArrayError> {
            axes.iter()
                .map(|&a| Ok(normalize_axes(&[a], nd)?[0]))
                .collect()
        };
        let (src, dst) = (each(source)?, each(destination)?);
        let distinct = |v: &[usize]| {
            let mut s = v.to_vec();
            s.sort_unstable();
            s.dedup();
            s.len() == v.len()
        };
        if !distinct(&src) || !distinct(&dst) {
            return Err(shape_error(
                "moveaxis",
                "repeated axis in source or destination".to_string(),
            ));
        }
        let mut order: Vec<usize> = (0..nd).filter(|a| !src.contains(a)).collect();
        let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
        pairs.sort_unstable();
        for (d, s) in pairs {
            order.insert(d, s);
        }
        self.permute(&order)
    }

    /// Each element repeated `repeats` times along `axis` (the flattened array when `None`),
    /// NumPy's `repeat` with one count.
    pub fn repeat(&self, repeats: usize, axis: Option<isize>) -> Result<Array, ArrayError> {
        let Some(axis) = axis else {
            return self.ravel()?.repeat(repeats, Some(0));
        };
        let axis = normalize_axes(&[axis], self.ndim())?[0];
        let n = self.shape()[axis];
        let total = positions("repeat", axis, n, repeats)?;
        let idx: Vec<i64> = (0..total).map(|i| (i / repeats) as i64).collect();
        self.take(&idx, axis as isize)
    }

    /// The array repeated `reps[i]` times along each axis (NumPy's `tile`: a shorter `reps`
    /// is padded with ones in front, a longer one adds leading axes to the array).
    pub fn tile(&self, reps: &[usize]) -> Result<Array, ArrayError> {
        let nd = self.ndim().max(reps.len());
        let mut x = self.clone();
        while x.ndim() < nd {
            x = x.expand_dims(0)?;
        }
        let reps: Vec<usize> = std::iter::repeat_n(1, nd - reps.len())
            .chain(reps.iter().copied())
            .collect();
        for (axis, &r) in reps.iter().enumerate() {
            if r == 1 {
                continue;
            }
            let n = x.shape()[axis];
            let total = positions("tile", axis, n, r)?;
            let idx: Vec<i64> = (0..total).map(|i| (i % n.max(1)) as i64).collect();
            x = x.take(&idx, axis as isize)?;
        }
        Ok(x)
    }

    /// The array extended by `widths[axis] = (before, after)` cells on each axis, filled as
    /// `mode` says (NumPy's `pad`).
    pub fn pad(&self, widths: &[(usize, usize)], mode: PadMode) -> Result<Array, ArrayError> {
        if widths.len() != self.ndim() {
            return Err(shape_error(
                "pad",
                format!(
                    "{} pad widths for an array of {} axes",
                    widths.len(),
                    self.ndim()
                ),
            ));
        }
        let mut x = self.clone();
        for (axis, &(before, after)) in widths.iter().enumerate() {
            if before == 0 && after == 0 {
                continue;
            }
            let n = x.shape()[axis];
            let total = n
                .checked_add(before)
                .and_then(|t| t.checked_add(after))
                .ok_or_else(|| shape_error("pad", format!("axis {axis} padded overflows")))?;
            x = match mode {
                PadMode::Constant(value) => {
                    let side = |w: usize| {
                        let mut shape = x.shape().to_vec();
                        shape[axis] = w;
                        let mut blocks = x.chunks().all_blocks().to_vec();
                        blocks[axis] = vec![w];
                        Array::full(&shape, value, x.dtype(), ChunkSpec::Blocks(blocks))
                    };
                    let mut parts = Vec::new();
                    if before > 0 {
                        parts.push(side(before)?);
                    }
                    parts.push(x.clone());
                    if after > 0 {
                        parts.push(side(after)?);
                    }
                    Array::concatenate(&parts, axis as isize)?
                }
                _ if n == 0 => {
                    return Err(shape_error(
                        "pad",
                        format!(
                            "cannot extend the empty axis {axis} in a mode other than constant"
                        ),
                    ))
                }
                mode => {
                    positions("pad", axis, total, 1)?;
                    let (n, before) = (n as i64, before as i64);
                    let idx: Vec<i64> = (0..total as i64)
                        .map(|j| {
                            let p = j - before;
                            match mode {
                                PadMode::Edge => p.clamp(0, n - 1),
                                PadMode::Wrap => p.rem_euclid(n),
                                _ if n == 1 => 0,
                                _ => {
                                    let period = 2 * (n - 1);
                                    let m = p.rem_euclid(period);
                                    if m >= n {
                                        period - m
                                    } else {
                                        m
                                    }
                                }
                            }
                        })
                        .collect();
                    x.take(&idx, axis as isize)?
                }
            };
        }
        Ok(x)
    }

    /// The upper (`upper`: `triu`, on and above diagonal `k`) or lower (`tril`, on and below
    /// it) triangle of the last two axes, zeros elsewhere.
    pub fn triangle(&self, k: i64, upper: bool) -> Result<Array, ArrayError> {
        let nd = self.ndim();
        let op = if upper { "triu" } else { "tril" };
        if nd < 2 {
            return Err(shape_error(op, format!("needs at least 2 axes, got {nd}")));
        }
        let (rows, cols) = (self.shape()[nd - 2], self.shape()[nd - 1]);
        let blocks = self.chunks().all_blocks();
        let r = Array::arange(
            0i64,
            rows as i64,
            1i64,
            DType::I64,
            ChunkSpec::Blocks(vec![blocks[nd - 2].clone()]),
        )?
        .expand_dims(1)?;
        let c = Array::arange(
            0i64,
            cols as i64,
            1i64,
            DType::I64,
            ChunkSpec::Blocks(vec![blocks[nd - 1].clone()]),
        )?;
        let diff = c.sub(&r)?;
        let keep = if upper { diff.ge(k)? } else { diff.le(k)? };
        let zero = Array::zeros(&[], self.dtype(), ChunkSpec::Blocks(vec![]))?;
        Array::where_(&keep, self, &zero)
    }

    /// An array of this one's shape and chunks filled with `value` (as `dtype`, default this
    /// array's): NumPy's `full_like`.
    pub fn full_like(
        &self,
        value: impl Into<Scalar>,
        dtype: Option<DType>,
    ) -> Result<Array, ArrayError> {
        Array::full(
            self.shape(),
            value,
            dtype.unwrap_or(self.dtype()),
            self.same_chunks(),
        )
    }

    /// Coordinate arrays from 1-d coordinate vectors (NumPy's `meshgrid`, inputs flattened):
    /// with `ij` the result has shape `(len0, len1, ...)`, else (Cartesian, `xy`) the first
    /// two lengths are exchanged. Each result is its input broadcast, so nothing is copied.
    pub fn meshgrid(arrays: &[Array], ij: bool) -> Result<Vec<Array>, ArrayError> {
        let flat = arrays
            .iter()
            .map(Array::ravel)
            .collect::<Result<Vec<_>, _>>()?;
        let n = flat.len();
        let axis_of = |i: usize| match i {
            0 | 1 if !ij && n >= 2 => 1 - i,
            i => i,
        };
        let mut shape = vec![0; n];
        for (i, a) in flat.iter().enumerate() {
            shape[axis_of(i)] = a.size();
        }
        flat.iter()
            .enumerate()
            .map(|(i, a)| {
                let mut own = vec![1; n];
                own[axis_of(i)] = a.size();
                a.reshape(&own)?.broadcast_to(&shape)
            })
            .collect()
    }

    /// Arrays joined along the first axis, 1-d ones as rows (NumPy's `vstack`).
    pub fn vstack(arrays: &[Array]) -> Result<Array, ArrayError> {
        let rows = arrays
            .iter()
            .map(|a| match a.ndim() {
                0 => a.reshape(&[1, 1]),
                1 => a.expand_dims(0),
                _ => Ok(a.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Array::concatenate(&rows, 0)
    }

    /// Arrays joined along the second axis, or the first when all are 1-d (NumPy's `hstack`).
    pub fn hstack(arrays: &[Array]) -> Result<Array, ArrayError> {
        let items = arrays
            .iter()
            .map(|a| {
                if a.ndim() == 0 {
                    a.reshape(&[1])
                } else {
                    Ok(a.clone())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let axis = if items.iter().all(|a| a.ndim() == 1) {
            0
        } else {
            1
        };
        Array::concatenate(&items, axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_arrays_keep_the_chunks() {
        let x = Array::arange(0i64, 12, 1, DType::I64, 5)
            .and_then(|a| a.reshape(&[3, 4]))
            .and_then(|a| a.rechunk(ChunkSpec::Blocks(vec![vec![2, 1], vec![3, 1]])))
            .expect("built");
        let z = x.full_like(Scalar::Float(2.5), None).expect("full_like");
        assert_eq!(z.chunks().all_blocks(), x.chunks().all_blocks());
        assert_eq!(z.dtype(), DType::I64);
        let v = z.compute_local_as::<i64>().expect("computed");
        assert!(v.iter().all(|&e| e == 2));
    }

    #[test]
    fn moveaxis_keeps_the_given_order() {
        let x = Array::zeros(&[1, 2, 3], DType::F64, 2).expect("built");
        let y = x.moveaxis(&[0, 2], &[2, 0]).expect("moved");
        assert_eq!(y.shape(), &[3, 2, 1]);
        assert!(x.moveaxis(&[0, 0], &[1, 0]).is_err());
    }
}
