//! How an array is cut into chunks: [`ChunkGrid`] (explicit block sizes per axis) and
//! [`ChunkSpec`] (what users write: one size, a size per axis, explicit blocks, or "auto").
//!
//! This module must not know about dtypes beyond their item size, graphs or kernels.

use serde::{Deserialize, Serialize};

use crate::array::dtype::DType;
use crate::array::error::ArrayError;

/// Default target size of one chunk for [`ChunkSpec::Auto`]: 128 MiB.
pub const DEFAULT_AUTO_CHUNK_BYTES: u64 = 128 << 20;

/// The chunk structure of an array: for every axis, the sizes of its blocks in order.
///
/// ```
/// use tessera::array::ChunkGrid;
/// let g = ChunkGrid::regular(&[10, 4], &[4, 4]).unwrap();
/// assert_eq!(g.blocks(0), &[4, 4, 2]);
/// assert_eq!(g.num_chunks(), 3);
/// assert_eq!(g.chunk_shape(&[2, 0]), vec![2, 4]);
/// assert_eq!(g.chunk_origin(&[2, 0]), vec![8, 0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkGrid {
    blocks: Vec<Vec<usize>>,
}

/// How one axis is chunked in a [`ChunkSpec::PerAxis`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisChunks {
    /// Blocks of this many elements (the last one may be smaller).
    Size(usize),
    /// One block spanning the whole axis (dask's `-1`).
    Full,
    /// Chosen automatically with the other `Auto` axes to meet the target chunk bytes.
    Auto,
}

impl From<usize> for AxisChunks {
    fn from(n: usize) -> Self {
        AxisChunks::Size(n)
    }
}

/// A chunking request, resolved against a shape and dtype by [`ChunkSpec::resolve`].
///
/// ```
/// use tessera::array::{ChunkSpec, DType};
/// let g = ChunkSpec::from(5).resolve(&[12, 3], DType::F64).unwrap();
/// assert_eq!(g.blocks(0), &[5, 5, 2]);
/// assert_eq!(g.blocks(1), &[3]);
/// let auto = ChunkSpec::AutoBytes(800).resolve(&[100, 100], DType::F64).unwrap();
/// assert_eq!(auto.blocks(0)[0] * auto.blocks(1)[0], 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkSpec {
    /// The same block size on every axis.
    Uniform(usize),
    /// One entry per axis.
    PerAxis(Vec<AxisChunks>),
    /// Explicit block sizes per axis (must add up to the axis length).
    Blocks(Vec<Vec<usize>>),
    /// Automatic, targeting [`DEFAULT_AUTO_CHUNK_BYTES`] per chunk.
    Auto,
    /// Automatic, targeting this many bytes per chunk.
    AutoBytes(u64),
}

impl From<usize> for ChunkSpec {
    fn from(n: usize) -> Self {
        ChunkSpec::Uniform(n)
    }
}

impl From<&[usize]> for ChunkSpec {
    fn from(sizes: &[usize]) -> Self {
        ChunkSpec::PerAxis(sizes.iter().map(|&s| AxisChunks::Size(s)).collect())
    }
}

impl From<Vec<usize>> for ChunkSpec {
    fn from(sizes: Vec<usize>) -> Self {
        ChunkSpec::from(&sizes[..])
    }
}

impl<const N: usize> From<[usize; N]> for ChunkSpec {
    fn from(sizes: [usize; N]) -> Self {
        ChunkSpec::from(&sizes[..])
    }
}

impl From<Vec<Vec<usize>>> for ChunkSpec {
    fn from(blocks: Vec<Vec<usize>>) -> Self {
        ChunkSpec::Blocks(blocks)
    }
}

impl From<&ChunkGrid> for ChunkSpec {
    fn from(grid: &ChunkGrid) -> Self {
        ChunkSpec::Blocks(grid.blocks.clone())
    }
}

/// The most elements an array may have (2^60: 8 EiB of float64), so element and byte counts
/// never overflow 64 bits.
pub const MAX_ELEMENTS: u128 = 1 << 60;

/// The most chunks an array may have (2^30, far beyond what any cluster runs as tasks): the
/// grid is refused before its block lists are allocated.
pub const MAX_CHUNKS: u128 = 1 << 30;

/// Refuses a shape with more than [`MAX_ELEMENTS`] elements, or a grid of more than
/// [`MAX_CHUNKS`] chunks (`chunks_per_axis`), naming both counts.
fn check_size(shape: &[usize], chunks_per_axis: &[u128]) -> Result<(), ArrayError> {
    let elements = shape
        .iter()
        .try_fold(1u128, |acc, &n| acc.checked_mul(n as u128));
    match elements {
        Some(n) if n <= MAX_ELEMENTS => {}
        n => {
            return Err(ArrayError::SizeOverflow {
                what: "array size",
                detail: format!(
                    "shape {} has {} elements, more than the 2**60 an array may have",
                    shape_text(shape),
                    n.map_or_else(|| "over 2**128".to_string(), |n| n.to_string())
                ),
            })
        }
    }
    if shape.contains(&0) {
        return Ok(());
    }
    let chunks = chunks_per_axis
        .iter()
        .try_fold(1u128, |acc, &n| acc.checked_mul(n));
    match chunks {
        Some(n) if n <= MAX_CHUNKS => Ok(()),
        n => Err(ArrayError::SizeOverflow {
            what: "number of chunks",
            detail: format!(
                "shape {} would be cut into {} chunks, more than the 2**30 an array may have \
                 (use larger chunks)",
                shape_text(shape),
                n.map_or_else(|| "over 2**128".to_string(), |n| n.to_string())
            ),
        }),
    }
}

/// `(3, 4)`, `(5,)`, `()`: a shape as Python writes it.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn split_axis(len: usize, size: usize) -> Vec<usize> {
    if len == 0 {
        return vec![0];
    }
    let mut v = vec![size; len / size];
    if !len.is_multiple_of(size) {
        v.push(len % size);
    }
    v
}

impl ChunkSpec {
    /// The grid this spec gives for `shape` and `dtype`.
    pub fn resolve(&self, shape: &[usize], dtype: DType) -> Result<ChunkGrid, ArrayError> {
        let bad = |reason: String| ArrayError::BadChunks {
            spec: format!("{self:?}"),
            shape: shape.to_vec(),
            reason,
        };
        let per_axis: Vec<AxisChunks> = match self {
            ChunkSpec::Blocks(blocks) => return ChunkGrid::from_blocks(shape, blocks.clone()),
            ChunkSpec::Uniform(n) => vec![AxisChunks::Size(*n); shape.len()],
            ChunkSpec::PerAxis(v) => {
                if v.len() != shape.len() {
                    return Err(bad(format!("{} entries for {} axes", v.len(), shape.len())));
                }
                v.clone()
            }
            ChunkSpec::Auto | ChunkSpec::AutoBytes(_) => vec![AxisChunks::Auto; shape.len()],
        };
        let target = match self {
            ChunkSpec::AutoBytes(b) => *b,
            _ => DEFAULT_AUTO_CHUNK_BYTES,
        };
        if target == 0 {
            return Err(bad("target chunk bytes must be positive".into()));
        }
        let mut sizes = vec![0usize; shape.len()];
        let mut auto_axes = Vec::new();
        for (axis, (&len, c)) in shape.iter().zip(&per_axis).enumerate() {
            match c {
                AxisChunks::Size(0) if len > 0 => {
                    return Err(bad(format!("axis {axis}: block size 0")));
                }
                AxisChunks::Size(s) => sizes[axis] = (*s).min(len).max(1),
                AxisChunks::Full => sizes[axis] = len.max(1),
                AxisChunks::Auto => auto_axes.push(axis),
            }
        }
        if !auto_axes.is_empty() {
            let fixed: f64 = sizes
                .iter()
                .enumerate()
                .filter(|(a, _)| !auto_axes.contains(a))
                .map(|(_, &s)| s as f64)
                .product();
            let mut budget = (target as f64 / dtype.itemsize() as f64 / fixed).max(1.0);
            let mut remaining = auto_axes.clone();
            // Axes shorter than the even share take their full length; the rest share what
            // is left equally (chunks as close to cubes as the shape allows).
            loop {
                let share = budget.powf(1.0 / remaining.len() as f64);
                let (small, big): (Vec<usize>, Vec<usize>) =
                    remaining.iter().partition(|&&a| (shape[a] as f64) <= share);
                if small.is_empty() {
                    for &a in &big {
                        sizes[a] = (share.floor() as usize).clamp(1, shape[a].max(1));
                    }
                    break;
                }
                for &a in &small {
                    sizes[a] = shape[a].max(1);
                    budget = (budget / shape[a].max(1) as f64).max(1.0);
                }
                remaining = big;
                if remaining.is_empty() {
                    break;
                }
            }
        }
        let counts: Vec<u128> = shape
            .iter()
            .zip(&sizes)
            .map(|(&len, &s)| len.div_ceil(s.max(1)) as u128)
            .collect();
        check_size(shape, &counts)?;
        let blocks = shape
            .iter()
            .zip(&sizes)
            .map(|(&len, &s)| split_axis(len, s))
            .collect();
        ChunkGrid::from_blocks(shape, blocks)
    }
}

impl ChunkGrid {
    /// A grid from explicit block sizes; they must add up to `shape` on every axis (an axis of
    /// length 0 has the single block `[0]`).
    pub fn from_blocks(shape: &[usize], blocks: Vec<Vec<usize>>) -> Result<ChunkGrid, ArrayError> {
        let bad = |reason: String| ArrayError::BadChunks {
            spec: format!("{blocks:?}"),
            shape: shape.to_vec(),
            reason,
        };
        if blocks.len() != shape.len() {
            return Err(bad(format!(
                "{} axes of blocks for {} axes",
                blocks.len(),
                shape.len()
            )));
        }
        for (axis, (b, &len)) in blocks.iter().zip(shape).enumerate() {
            if b.is_empty() {
                return Err(bad(format!("axis {axis} has no blocks")));
            }
            if len > 0 && b.contains(&0) {
                return Err(bad(format!("axis {axis} has an empty block")));
            }
            if len == 0 && b != &[0] {
                return Err(bad(format!(
                    "axis {axis} has length 0 and must have blocks [0]"
                )));
            }
            let total = b.iter().try_fold(0usize, |acc, &n| acc.checked_add(n));
            if total != Some(len) {
                let total = b.iter().map(|&n| n as u128).sum::<u128>();
                return Err(bad(format!(
                    "axis {axis}: blocks add up to {total}, not {len}"
                )));
            }
        }
        let counts: Vec<u128> = blocks.iter().map(|b| b.len() as u128).collect();
        check_size(shape, &counts)?;
        Ok(ChunkGrid { blocks })
    }

    /// A grid of regular blocks of `sizes` (one per axis).
    pub fn regular(shape: &[usize], sizes: &[usize]) -> Result<ChunkGrid, ArrayError> {
        ChunkSpec::from(sizes).resolve(shape, DType::F64)
    }

    /// One chunk covering the whole shape.
    pub fn single(shape: &[usize]) -> ChunkGrid {
        ChunkGrid {
            blocks: shape.iter().map(|&d| vec![d]).collect(),
        }
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.blocks.len()
    }

    /// The array shape this grid covers.
    pub fn shape(&self) -> Vec<usize> {
        self.blocks.iter().map(|b| b.iter().sum()).collect()
    }

    /// Block sizes along `axis`.
    pub fn blocks(&self, axis: usize) -> &[usize] {
        &self.blocks[axis]
    }

    /// All block sizes, per axis.
    pub fn all_blocks(&self) -> &[Vec<usize>] {
        &self.blocks
    }

    /// Number of blocks along each axis.
    pub fn blocks_per_axis(&self) -> Vec<usize> {
        self.blocks.iter().map(Vec::len).collect()
    }

    /// Total number of chunks.
    pub fn num_chunks(&self) -> usize {
        self.blocks.iter().map(Vec::len).product()
    }

    /// Start offsets of the blocks along `axis` (one more entry: the axis length).
    pub fn offsets(&self, axis: usize) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.blocks[axis].len() + 1);
        let mut acc = 0;
        v.push(0);
        for &b in &self.blocks[axis] {
            acc += b;
            v.push(acc);
        }
        v
    }

    /// The shape of the chunk at block index `idx`.
    pub fn chunk_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.blocks[a][i])
            .collect()
    }

    /// The global position of the first element of chunk `idx`.
    pub fn chunk_origin(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.blocks[a][..i].iter().sum())
            .collect()
    }

    /// The largest number of bytes one chunk holds for elements of `itemsize` bytes.
    pub fn max_chunk_bytes(&self, itemsize: usize) -> usize {
        self.blocks
            .iter()
            .map(|b| b.iter().copied().max().unwrap_or(0))
            .product::<usize>()
            * itemsize
    }

    /// All chunk indices in row-major order.
    pub fn chunk_indices(&self) -> Vec<Vec<usize>> {
        all_indices(&self.blocks_per_axis())
    }

    /// The grid with axes in the order `perm` (a permutation of `0..ndim`).
    pub fn permuted(&self, perm: &[usize]) -> ChunkGrid {
        ChunkGrid {
            blocks: perm.iter().map(|&a| self.blocks[a].clone()).collect(),
        }
    }
}

/// The number of elements of a shape with these lengths, or [`ArrayError::SizeOverflow`]
/// when it does not fit in 64 bits (`(2**32, 2**32)`).
pub fn checked_size(lengths: impl IntoIterator<Item = usize>) -> Result<usize, ArrayError> {
    let lengths: Vec<usize> = lengths.into_iter().collect();
    lengths
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| ArrayError::SizeOverflow {
            what: "number of elements",
            detail: format!("shape {lengths:?} has more than 2**64 elements"),
        })
}

/// Every index of an n-d box with `dims` in row-major order (one empty index for 0 axes).
pub fn all_indices(dims: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..total {
        out.push(idx.clone());
        for a in (0..dims.len()).rev() {
            idx[a] += 1;
            if idx[a] < dims[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// The common refinement of two block lists of the same total: every boundary of either.
pub fn common_blocks(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut bounds: Vec<usize> = Vec::new();
    let mut acc = 0;
    for &x in a {
        acc += x;
        bounds.push(acc);
    }
    acc = 0;
    for &x in b {
        acc += x;
        bounds.push(acc);
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut out = Vec::with_capacity(bounds.len());
    let mut prev = 0;
    for e in bounds {
        if e > prev || (e == 0 && out.is_empty()) {
            out.push(e - prev);
        }
        prev = e;
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_resolve() {
        let g = ChunkSpec::PerAxis(vec![AxisChunks::Size(3), AxisChunks::Full])
            .resolve(&[7, 5], DType::F32)
            .unwrap();
        assert_eq!(g.all_blocks(), &[vec![3, 3, 1], vec![5]]);
        let g = ChunkSpec::Blocks(vec![vec![1, 6], vec![5]])
            .resolve(&[7, 5], DType::F32)
            .unwrap();
        assert_eq!(g.blocks(0), &[1, 6]);
        let g = ChunkSpec::from(100).resolve(&[7, 0], DType::U8).unwrap();
        assert_eq!(g.all_blocks(), &[vec![7], vec![0]]);
    }

    #[test]
    fn bad_specs_name_the_problem() {
        let e = ChunkSpec::Blocks(vec![vec![3, 3]])
            .resolve(&[7], DType::F64)
            .unwrap_err();
        assert!(e.to_string().contains("add up to 6, not 7"), "{e}");
        let e = ChunkSpec::from(vec![2, 2])
            .resolve(&[7], DType::F64)
            .unwrap_err();
        assert!(e.to_string().contains("2 entries for 1 axes"), "{e}");
        let e = ChunkSpec::from(0).resolve(&[7], DType::F64).unwrap_err();
        assert!(e.to_string().contains("axis 0"), "{e}");
        assert!(ChunkSpec::AutoBytes(0).resolve(&[7], DType::F64).is_err());
    }

    #[test]
    fn auto_targets_bytes_and_keeps_short_axes_whole() {
        let g = ChunkSpec::AutoBytes(8 * 1000)
            .resolve(&[10_000, 10_000], DType::F64)
            .unwrap();
        let elems = g.blocks(0)[0] * g.blocks(1)[0];
        assert!((900..=1000).contains(&elems), "{elems}");
        let g = ChunkSpec::AutoBytes(8 * 1000)
            .resolve(&[3, 100_000], DType::F64)
            .unwrap();
        assert_eq!(g.blocks(0), &[3]);
        assert_eq!(g.blocks(1)[0], 333);
        let g = ChunkSpec::Auto.resolve(&[10, 10], DType::F64).unwrap();
        assert_eq!(g.num_chunks(), 1);
    }

    #[test]
    fn common_refinement_has_all_boundaries() {
        assert_eq!(common_blocks(&[4, 4, 2], &[5, 5]), vec![4, 1, 3, 2]);
        assert_eq!(common_blocks(&[10], &[10]), vec![10]);
        assert_eq!(common_blocks(&[0], &[0]), vec![0]);
    }

    #[test]
    fn indices_are_row_major() {
        assert_eq!(
            all_indices(&[2, 2]),
            vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]
        );
        assert_eq!(all_indices(&[]), vec![Vec::<usize>::new()]);
        assert!(all_indices(&[0, 3]).is_empty());
    }

    #[test]
    fn impossible_sizes_are_refused_before_blocks_are_allocated() {
        let e = ChunkSpec::Auto
            .resolve(&[1 << 62, 1 << 62], DType::F64)
            .expect_err("2**124 elements");
        assert!(
            e.to_string()
                .contains("21267647932558653966460912964485513216 elements"),
            "{e}"
        );
        let e = ChunkSpec::Auto
            .resolve(&[1 << 32, 1 << 32], DType::F64)
            .expect_err("2**64 elements");
        assert!(
            e.to_string().contains("18446744073709551616 elements"),
            "{e}"
        );
        let e = ChunkSpec::Uniform(1)
            .resolve(&[1 << 20, 1 << 20], DType::U8)
            .expect_err("2**40 chunks");
        assert!(e.to_string().contains("1099511627776 chunks"), "{e}");
        assert_eq!(checked_size([1 << 40, 1 << 20]).ok(), Some(1 << 60));
        assert!(checked_size([1 << 40, 1 << 30]).is_err());
        let ok = ChunkSpec::Auto
            .resolve(&[1 << 26, 1 << 26], DType::F64)
            .expect("2**52 elements in 128 MiB chunks");
        assert!(ok.num_chunks() < 1 << 30);
    }

    #[test]
    fn graphs_beyond_the_task_limit_are_refused_with_tasks_and_bytes() {
        let x = crate::array::Array::random_uniform(
            &[100_000_000, 100_000_000],
            1,
            0.0,
            1.0,
            ChunkSpec::Auto,
        )
        .expect("a lazy array");
        let e = x
            .sum(crate::array::ReduceOptions::all())
            .expect("lazy sum")
            .graph()
            .expect_err("too many tasks");
        let text = e.to_string();
        assert!(matches!(e, ArrayError::TooManyTasks { .. }), "{text}");
        assert!(
            text.contains("tasks over 80000000000000008 bytes"),
            "{text}"
        );
        // A small selection of the same array lowers to a few tasks.
        let corner = x
            .index(&[
                crate::array::IndexItem::slice(None, Some(3), 1),
                crate::array::IndexItem::slice(None, Some(3), 1),
            ])
            .expect("slice");
        assert!(corner.graph().expect("graph").tasks.len() < 10);
    }
}
