//! Reductions over any set of axes (sum, mean, var, min, argmin, any, ...) as trees of tasks:
//! one partial per input chunk (fused with the elementwise work feeding it), combine tasks of at
//! most `split_every` inputs, and a final aggregate per output chunk.
//!
//! Values accumulate in a wide type (f64 for floats, i64 for integers and bool); mean and
//! variance partials are (count, mean, M2) merged with Chan's parallel algorithm. This module
//! must not know how tasks are run.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::array::array::Array;
use crate::array::block::{with_slice, Block, Slice};
use crate::array::chunk::{decode_bundle, decode_chunk, encode_bundle, encode_values, ChunkWriter};
use crate::array::dtype::DType;
use crate::array::error::ArrayError;
use crate::array::fuse;
use crate::array::grid::{all_indices, ChunkGrid};
use crate::array::kernels::names;
use crate::array::lower::{encode_args, Lowering};
use crate::array::math::{self, Num};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::program::{Evaluator, Program, BLOCK_ELEMS};
use crate::array::walker::{Layout, Strided};
use crate::core::TaskKey;

/// Default largest number of partials one combine task reads.
pub const DEFAULT_SPLIT_EVERY: usize = 8;

/// What a reduction computes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReduceKind {
    /// Sum (integers and bool sum in int64).
    Sum,
    /// Product (integers and bool in int64).
    Prod,
    /// Minimum (NaN-propagating).
    Min,
    /// Maximum (NaN-propagating).
    Max,
    /// Arithmetic mean.
    Mean,
    /// Variance with `ddof` delta degrees of freedom.
    Var {
        /// Delta degrees of freedom (divisor is `n - ddof`).
        ddof: f64,
    },
    /// Standard deviation with `ddof` delta degrees of freedom.
    Std {
        /// Delta degrees of freedom.
        ddof: f64,
    },
    /// True if any element is non-zero.
    Any,
    /// True if every element is non-zero.
    All,
    /// Index of the first minimum (first NaN wins).
    ArgMin,
    /// Index of the first maximum (first NaN wins).
    ArgMax,
    /// Sum ignoring NaN.
    NanSum,
    /// Mean ignoring NaN.
    NanMean,
    /// Minimum ignoring NaN (NaN where all are NaN).
    NanMin,
    /// Maximum ignoring NaN (NaN where all are NaN).
    NanMax,
    /// Variance ignoring NaN.
    NanVar {
        /// Delta degrees of freedom.
        ddof: f64,
    },
    /// Standard deviation ignoring NaN.
    NanStd {
        /// Delta degrees of freedom.
        ddof: f64,
    },
    /// Number of non-zero elements (int64).
    CountNonzero,
}

impl ReduceKind {
    /// Short name used in task keys.
    pub fn name(&self) -> &'static str {
        match self {
            ReduceKind::Sum => "sum",
            ReduceKind::Prod => "prod",
            ReduceKind::Min => "min",
            ReduceKind::Max => "max",
            ReduceKind::Mean => "mean",
            ReduceKind::Var { .. } => "var",
            ReduceKind::Std { .. } => "std",
            ReduceKind::Any => "any",
            ReduceKind::All => "all",
            ReduceKind::ArgMin => "argmin",
            ReduceKind::ArgMax => "argmax",
            ReduceKind::NanSum => "nansum",
            ReduceKind::NanMean => "nanmean",
            ReduceKind::NanMin => "nanmin",
            ReduceKind::NanMax => "nanmax",
            ReduceKind::NanVar { .. } => "nanvar",
            ReduceKind::NanStd { .. } => "nanstd",
            ReduceKind::CountNonzero => "count_nonzero",
        }
    }

    /// The result dtype for an input of `dtype`.
    pub fn out_dtype(&self, dtype: DType) -> DType {
        use ReduceKind::*;
        match self {
            Sum | Prod | NanSum => dtype.sum_dtype(),
            Min | Max | NanMin | NanMax => dtype,
            Mean | Var { .. } | Std { .. } | NanMean | NanVar { .. } | NanStd { .. } => {
                dtype.float_for_math()
            }
            Any | All => DType::Bool,
            ArgMin | ArgMax | CountNonzero => DType::I64,
        }
    }

    fn needs_elements(&self) -> bool {
        matches!(
            self,
            ReduceKind::Min | ReduceKind::Max | ReduceKind::ArgMin | ReduceKind::ArgMax
        )
    }

    fn is_arg(&self) -> bool {
        matches!(self, ReduceKind::ArgMin | ReduceKind::ArgMax)
    }

    fn skips_nan(&self) -> bool {
        matches!(
            self,
            ReduceKind::NanSum
                | ReduceKind::NanMean
                | ReduceKind::NanMin
                | ReduceKind::NanMax
                | ReduceKind::NanVar { .. }
                | ReduceKind::NanStd { .. }
        )
    }
}

/// Which axes to reduce, whether to keep them as length-1 axes, and the tree fan-in.
///
/// ```
/// use tessera::array::ReduceOptions;
/// let all = ReduceOptions::all();
/// let rows = ReduceOptions::from(1).keepdims(true).split_every(4);
/// # let _ = (all, rows);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ReduceOptions {
    axes: Option<Vec<isize>>,
    keepdims: bool,
    split_every: Option<usize>,
}

impl ReduceOptions {
    /// Reduce every axis.
    pub fn all() -> Self {
        ReduceOptions::default()
    }

    /// Reduce these axes (negative counts from the end).
    pub fn axes(axes: impl IntoIterator<Item = isize>) -> Self {
        ReduceOptions {
            axes: Some(axes.into_iter().collect()),
            ..Default::default()
        }
    }

    /// Keep reduced axes as length-1 axes.
    pub fn keepdims(mut self, keep: bool) -> Self {
        self.keepdims = keep;
        self
    }

    /// At most this many partials per combine task (at least 2; default 8).
    pub fn split_every(mut self, n: usize) -> Self {
        self.split_every = Some(n);
        self
    }
}

impl From<usize> for ReduceOptions {
    fn from(axis: usize) -> Self {
        ReduceOptions::axes([axis as isize])
    }
}

impl From<i32> for ReduceOptions {
    fn from(axis: i32) -> Self {
        ReduceOptions::axes([axis as isize])
    }
}

impl<const N: usize> From<[i32; N]> for ReduceOptions {
    fn from(axes: [i32; N]) -> Self {
        ReduceOptions::axes(axes.iter().map(|&a| a as isize))
    }
}

impl<const N: usize> From<[usize; N]> for ReduceOptions {
    fn from(axes: [usize; N]) -> Self {
        ReduceOptions::axes(axes.iter().map(|&a| a as isize))
    }
}

impl From<&[usize]> for ReduceOptions {
    fn from(axes: &[usize]) -> Self {
        ReduceOptions::axes(axes.iter().map(|&a| a as isize))
    }
}

/// A reduction as stored in the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReduceSpec {
    pub kind: ReduceKind,
    /// Reduced axes of the input, sorted.
    pub axes: Vec<usize>,
    pub keepdims: bool,
    pub split_every: usize,
}

/// Normalises axis numbers (negative from the end) and checks them; sorted.
pub fn normalize_axes(axes: &[isize], ndim: usize) -> Result<Vec<usize>, ArrayError> {
    let mut out = axes_in_order(axes, ndim)?;
    out.sort_unstable();
    Ok(out)
}

/// Normalises axis numbers (negative from the end) and checks them, keeping their order.
pub fn axes_in_order(axes: &[isize], ndim: usize) -> Result<Vec<usize>, ArrayError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = if a < 0 { a + ndim as isize } else { a };
        if n < 0 || n as usize >= ndim {
            return Err(ArrayError::AxisOutOfRange { axis: a, ndim });
        }
        let n = n as usize;
        if out.contains(&n) {
            return Err(ArrayError::RepeatedAxis {
                axis: n,
                axes: axes.to_vec(),
            });
        }
        out.push(n);
    }
    Ok(out)
}

impl Array {
    /// A reduction of `kind` over the axes in `opts`.
    ///
    /// ```
    /// use tessera::array::{Array, DType, ReduceKind, ReduceOptions};
    /// let a = Array::arange(0.0, 10.0, 1.0, DType::F64, 3).unwrap();
    /// let s = a.reduce(ReduceKind::Sum, &ReduceOptions::all()).unwrap();
    /// assert_eq!(s.compute_local().unwrap().to_f64_vec(), vec![45.0]);
    /// ```
    pub fn reduce(&self, kind: ReduceKind, opts: &ReduceOptions) -> Result<Array, ArrayError> {
        let x = self.node();
        let nd = x.ndim();
        let axes = match &opts.axes {
            None => (0..nd).collect(),
            Some(a) => normalize_axes(a, nd)?,
        };
        let split_every = opts.split_every.unwrap_or(DEFAULT_SPLIT_EVERY);
        if split_every < 2 {
            return Err(ArrayError::InvalidParameter {
                name: "split_every",
                reason: format!("{split_every} (must be at least 2)"),
            });
        }
        if kind.is_arg() && axes.len() != 1 && axes.len() != nd {
            return Err(ArrayError::InvalidParameter {
                name: "axes",
                reason: format!(
                    "{} reduces one axis or all of them, not {axes:?}",
                    kind.name()
                ),
            });
        }
        let has_no_identity =
            kind.needs_elements() || matches!(kind, ReduceKind::NanMin | ReduceKind::NanMax);
        if has_no_identity && axes.iter().any(|&a| x.shape[a] == 0) {
            return Err(ArrayError::Shape {
                op: kind.name(),
                reason: format!(
                    "zero-size reduction over axes {axes:?} of shape {:?}",
                    x.shape
                ),
            });
        }
        let mut shape = Vec::new();
        let mut blocks = Vec::new();
        for a in 0..nd {
            if axes.contains(&a) {
                if opts.keepdims {
                    shape.push(1);
                    blocks.push(vec![1]);
                }
            } else {
                shape.push(x.shape[a]);
                blocks.push(x.grid.blocks(a).to_vec());
            }
        }
        let grid = ChunkGrid::from_blocks(&shape, blocks)?;
        let spec = ReduceSpec {
            kind,
            axes,
            keepdims: opts.keepdims,
            split_every,
        };
        let dtype = kind.out_dtype(x.dtype);
        Ok(Array::from_node(Node::new(
            Op::Reduce { x: x.clone(), spec },
            dtype,
            shape,
            grid,
        )))
    }
}

macro_rules! reductions {
    ($($(#[$doc:meta])* $name:ident => $kind:expr;)*) => {
        impl Array {
            $(
                $(#[$doc])*
                pub fn $name(&self, opts: impl Into<ReduceOptions>) -> Result<Array, ArrayError> {
                    self.reduce($kind, &opts.into())
                }
            )*
        }
    };
}

reductions! {
    /// Sum over axes (`ReduceOptions::all()` for every axis).
    sum => ReduceKind::Sum;
    /// Product over axes.
    prod => ReduceKind::Prod;
    /// Minimum over axes.
    min => ReduceKind::Min;
    /// Maximum over axes.
    max => ReduceKind::Max;
    /// Mean over axes.
    mean => ReduceKind::Mean;
    /// True where any element is non-zero.
    any => ReduceKind::Any;
    /// True where every element is non-zero.
    all => ReduceKind::All;
    /// Index of the first minimum along one axis (or the flat index over all axes).
    argmin => ReduceKind::ArgMin;
    /// Index of the first maximum along one axis (or the flat index over all axes).
    argmax => ReduceKind::ArgMax;
    /// Sum ignoring NaN.
    nansum => ReduceKind::NanSum;
    /// Mean ignoring NaN.
    nanmean => ReduceKind::NanMean;
    /// Minimum ignoring NaN.
    nanmin => ReduceKind::NanMin;
    /// Maximum ignoring NaN.
    nanmax => ReduceKind::NanMax;
    /// Number of non-zero elements.
    count_nonzero => ReduceKind::CountNonzero;
}

impl Array {
    /// Variance over axes with `ddof` delta degrees of freedom.
    pub fn var(&self, opts: impl Into<ReduceOptions>, ddof: f64) -> Result<Array, ArrayError> {
        self.reduce(ReduceKind::Var { ddof }, &opts.into())
    }

    /// Standard deviation over axes with `ddof` delta degrees of freedom.
    pub fn std(&self, opts: impl Into<ReduceOptions>, ddof: f64) -> Result<Array, ArrayError> {
        self.reduce(ReduceKind::Std { ddof }, &opts.into())
    }

    /// Variance ignoring NaN.
    pub fn nanvar(&self, opts: impl Into<ReduceOptions>, ddof: f64) -> Result<Array, ArrayError> {
        self.reduce(ReduceKind::NanVar { ddof }, &opts.into())
    }

    /// Product ignoring NaN (NaN counts as 1), NumPy's `nanprod`.
    pub fn nanprod(&self, opts: impl Into<ReduceOptions>) -> Result<Array, ArrayError> {
        let ones = Array::where_(&self.isnan()?, 1, self)?;
        ones.reduce(ReduceKind::Prod, &opts.into())
    }

    /// Peak to peak, `max - min` over axes (NumPy's `ptp`; integers wrap as NumPy's do).
    pub fn ptp(&self, opts: impl Into<ReduceOptions>) -> Result<Array, ArrayError> {
        let opts = opts.into();
        self.reduce(ReduceKind::Max, &opts)?
            .sub(&self.reduce(ReduceKind::Min, &opts)?)
    }

    /// Standard deviation ignoring NaN.
    pub fn nanstd(&self, opts: impl Into<ReduceOptions>, ddof: f64) -> Result<Array, ArrayError> {
        self.reduce(ReduceKind::NanStd { ddof }, &opts.into())
    }
}

// ---------------------------------------------------------------- lowering

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartialArgs {
    program: Program,
    shape: Vec<usize>,
    maps: Vec<Strided>,
    kind: ReduceKind,
    wide: DType,
    reduced: Vec<bool>,
    index: Strided,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CombineArgs {
    kind: ReduceKind,
    wide: DType,
    /// Present on the final aggregate: output dtype and chunk shape.
    finish: Option<(DType, DType, Vec<usize>)>,
}

/// The accumulation dtype: f64 for floats and for the moments of integers (NumPy accumulates
/// integer means and variances in float64), i64 for other integer reductions.
fn wide_dtype(kind: ReduceKind, d: DType) -> DType {
    use ReduceKind::*;
    let moment = matches!(
        kind,
        Mean | Var { .. } | Std { .. } | NanMean | NanVar { .. } | NanStd { .. }
    );
    if d.is_float() || moment {
        DType::F64
    } else {
        DType::I64
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

pub(crate) fn lower(
    low: &mut Lowering,
    node: &NodeRef,
    x: &NodeRef,
    spec: &ReduceSpec,
    chunks: &[Vec<usize>],
) -> Result<(), ArrayError> {
    let region = fuse::compile(x);
    let nd = x.ndim();
    let reduced: Vec<bool> = (0..nd).map(|a| spec.axes.contains(&a)).collect();
    let wide = wide_dtype(spec.kind, x.dtype);
    let bpa = x.grid.blocks_per_axis();
    let red_dims: Vec<usize> = spec.axes.iter().map(|&a| bpa[a]).collect();
    let combos = all_indices(&red_dims);
    let gstrides = row_major(&x.shape);
    let name = spec.kind.name();
    for out_idx in chunks {
        // Block index of the input along each kept axis.
        let mut kept = Vec::with_capacity(nd);
        let mut it = out_idx.iter();
        for &r in &reduced {
            if r {
                if spec.keepdims {
                    it.next();
                }
                kept.push(0);
            } else {
                kept.push(
                    *it.next().ok_or_else(|| {
                        ArrayError::Compute(format!("bad output chunk {out_idx:?}"))
                    })?,
                );
            }
        }
        let suffix: String = out_idx.iter().map(|i| format!("-{i}")).collect();
        let mut keys: Vec<TaskKey> = Vec::with_capacity(combos.len());
        for combo in &combos {
            let mut in_idx = kept.clone();
            for (k, &a) in spec.axes.iter().enumerate() {
                in_idx[a] = combo[k];
            }
            let (maps, deps) = low.region_inputs(&region, x, &in_idx)?;
            let origin = x.grid.chunk_origin(&in_idx);
            let index = if spec.axes.len() == 1 && nd > 1 {
                let a = spec.axes[0];
                let mut strides = vec![0u64; nd];
                strides[a] = 1;
                Strided {
                    base: origin[a] as u64,
                    strides,
                }
            } else {
                Strided {
                    base: origin
                        .iter()
                        .zip(&gstrides)
                        .map(|(&o, &s)| o as u64 * s)
                        .sum(),
                    strides: gstrides.clone(),
                }
            };
            let args = PartialArgs {
                program: region.program.clone(),
                shape: x.grid.chunk_shape(&in_idx),
                maps,
                kind: spec.kind,
                wide,
                reduced: reduced.clone(),
                index,
            };
            let key: String = format!(
                "{name}-partial-{}{}",
                node.id,
                in_idx.iter().map(|i| format!("-{i}")).collect::<String>()
            );
            low.push(
                key.clone(),
                names::REDUCE_PARTIAL,
                encode_args(&args)?,
                deps,
            );
            keys.push(TaskKey::new(key));
        }
        let mut level = 0;
        while keys.len() > spec.split_every {
            let mut next = Vec::with_capacity(keys.len().div_ceil(spec.split_every));
            for (g, group) in keys.chunks(spec.split_every).enumerate() {
                let key = format!("{name}-combine-{}-l{level}-g{g}{suffix}", node.id);
                let args = CombineArgs {
                    kind: spec.kind,
                    wide,
                    finish: None,
                };
                low.push(
                    key.clone(),
                    names::REDUCE_COMBINE,
                    encode_args(&args)?,
                    group.to_vec(),
                );
                next.push(TaskKey::new(key));
            }
            keys = next;
            level += 1;
        }
        let args = CombineArgs {
            kind: spec.kind,
            wide,
            finish: Some((x.dtype, node.dtype, node.grid.chunk_shape(out_idx))),
        };
        low.push(
            node.key(out_idx),
            names::REDUCE_COMBINE,
            encode_args(&args)?,
            keys,
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- kernels

/// The wide accumulation types: f64 and i64.
trait Wide: Num + crate::array::Element + ToSlice {
    fn slice_of(s: Slice<'_>) -> Option<&[Self]>;
    fn seg_sum(xs: &[Self], skip_nan: bool) -> Self;
    fn lowest() -> Self;
    fn highest() -> Self;
    fn nan() -> Self;
}

impl Wide for f64 {
    fn slice_of(s: Slice<'_>) -> Option<&[f64]> {
        match s {
            Slice::F64(v) => Some(v),
            _ => None,
        }
    }
    fn seg_sum(xs: &[f64], skip_nan: bool) -> f64 {
        // Eight independent lanes: vectorises, and rounding error grows with n/8.
        let mut lanes = [0.0f64; 8];
        let chunks = xs.chunks_exact(8);
        let rest = chunks.remainder();
        if skip_nan {
            for c in chunks {
                for k in 0..8 {
                    lanes[k] += if c[k].is_nan() { 0.0 } else { c[k] };
                }
            }
        } else {
            for c in chunks {
                for k in 0..8 {
                    lanes[k] += c[k];
                }
            }
        }
        let mut tail = 0.0;
        for &x in rest {
            if !(skip_nan && x.is_nan()) {
                tail += x;
            }
        }
        ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
            + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
            + tail
    }
    fn lowest() -> f64 {
        f64::NEG_INFINITY
    }
    fn highest() -> f64 {
        f64::INFINITY
    }
    fn nan() -> f64 {
        f64::NAN
    }
}

impl Wide for i64 {
    fn slice_of(s: Slice<'_>) -> Option<&[i64]> {
        match s {
            Slice::I64(v) => Some(v),
            _ => None,
        }
    }
    fn seg_sum(xs: &[i64], _skip_nan: bool) -> i64 {
        xs.iter().fold(0i64, |a, &x| a.wrapping_add(x))
    }
    fn lowest() -> i64 {
        i64::MIN
    }
    fn highest() -> i64 {
        i64::MAX
    }
    fn nan() -> i64 {
        0
    }
}

/// Accumulated partial results for every position of a partial chunk.
struct Acc<W> {
    kind: ReduceKind,
    val: Vec<W>,
    count: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
    flag: Vec<bool>,
    int: Vec<i64>,
}

fn chan(na: f64, ma: f64, m2a: f64, nb: f64, mb: f64, m2b: f64) -> (f64, f64, f64) {
    if nb == 0.0 {
        return (na, ma, m2a);
    }
    if na == 0.0 {
        return (nb, mb, m2b);
    }
    let n = na + nb;
    let d = mb - ma;
    (n, ma + d * nb / n, m2a + m2b + d * d * na * nb / n)
}

#[inline(always)]
fn nan_pick<W: Wide>(a: W, x: W, take_less: bool) -> W {
    if x.is_nan() {
        a
    } else if a.is_nan() || (take_less && x < a) || (!take_less && x > a) {
        x
    } else {
        a
    }
}

/// True when `x` beats the current `cur` for argmin (`min`) or argmax; NaN beats everything.
#[inline(always)]
fn arg_better<W: Wide>(x: W, cur: W, cur_index: i64, min: bool) -> bool {
    if cur_index < 0 {
        return true;
    }
    if cur.is_nan() {
        return false;
    }
    if x.is_nan() {
        return true;
    }
    if min {
        x < cur
    } else {
        x > cur
    }
}

impl<W: Wide> Acc<W> {
    fn new(kind: ReduceKind, len: usize) -> Acc<W> {
        use ReduceKind::*;
        let mut a = Acc {
            kind,
            val: Vec::new(),
            count: Vec::new(),
            mean: Vec::new(),
            m2: Vec::new(),
            flag: Vec::new(),
            int: Vec::new(),
        };
        match kind {
            Sum | NanSum => a.val = vec![W::default(); len],
            Prod => a.val = vec![W::from_i64(1); len],
            Min => a.val = vec![W::highest(); len],
            Max => a.val = vec![W::lowest(); len],
            NanMin => {
                a.val = vec![
                    if W::DTYPE == DType::F64 {
                        W::nan()
                    } else {
                        W::highest()
                    };
                    len
                ]
            }
            NanMax => {
                a.val = vec![
                    if W::DTYPE == DType::F64 {
                        W::nan()
                    } else {
                        W::lowest()
                    };
                    len
                ]
            }
            Mean | NanMean => {
                a.count = vec![0.0; len];
                a.mean = vec![0.0; len];
            }
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => {
                a.count = vec![0.0; len];
                a.mean = vec![0.0; len];
                a.m2 = vec![0.0; len];
            }
            Any => a.flag = vec![false; len],
            All => a.flag = vec![true; len],
            ArgMin | ArgMax => {
                a.val = vec![W::default(); len];
                a.int = vec![-1; len];
            }
            CountNonzero => a.int = vec![0; len],
        }
        a
    }

    /// Folds values `v` into positions `o, o + s, ...` (`s == 0`: all into `o`); element `k`
    /// has global index `io + k · is` (for arg reductions).
    fn segment(&mut self, v: &[W], o: usize, s: usize, io: u64, is: u64) {
        use ReduceKind::*;
        let skip = self.kind.skips_nan();
        let zero = W::default();
        match self.kind {
            Sum | NanSum => {
                if s == 0 {
                    self.val[o] = self.val[o].add(W::seg_sum(v, skip));
                } else {
                    let acc = &mut self.val[o..o + v.len()];
                    for (a, &x) in acc.iter_mut().zip(v) {
                        if !(skip && x.is_nan()) {
                            *a = a.add(x);
                        }
                    }
                }
            }
            Prod => {
                if s == 0 {
                    self.val[o] = v.iter().fold(self.val[o], |a, &x| a.mul(x));
                } else {
                    for (a, &x) in self.val[o..o + v.len()].iter_mut().zip(v) {
                        *a = a.mul(x);
                    }
                }
            }
            Min | Max => {
                let min = self.kind == Min;
                let f = |a: W, x: W| if min { a.minimum(x) } else { a.maximum(x) };
                if s == 0 {
                    self.val[o] = v.iter().fold(self.val[o], |a, &x| f(a, x));
                } else {
                    for (a, &x) in self.val[o..o + v.len()].iter_mut().zip(v) {
                        *a = f(*a, x);
                    }
                }
            }
            NanMin | NanMax => {
                let less = self.kind == NanMin;
                if s == 0 {
                    self.val[o] = v.iter().fold(self.val[o], |a, &x| nan_pick(a, x, less));
                } else {
                    for (a, &x) in self.val[o..o + v.len()].iter_mut().zip(v) {
                        *a = nan_pick(*a, x, less);
                    }
                }
            }
            Mean | NanMean => {
                if s == 0 {
                    let n = if skip {
                        v.iter().filter(|x| !x.is_nan()).count()
                    } else {
                        v.len()
                    };
                    self.count[o] += n as f64;
                    self.mean[o] += W::seg_sum(v, skip).to_f64();
                } else {
                    for (k, &x) in v.iter().enumerate() {
                        if !(skip && x.is_nan()) {
                            self.count[o + k] += 1.0;
                            self.mean[o + k] += x.to_f64();
                        }
                    }
                }
            }
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => {
                if s == 0 {
                    let n = if skip {
                        v.iter().filter(|x| !x.is_nan()).count()
                    } else {
                        v.len()
                    };
                    if n == 0 {
                        return;
                    }
                    let mb = W::seg_sum(v, skip).to_f64() / n as f64;
                    let m2b = if skip {
                        v.iter()
                            .filter(|x| !x.is_nan())
                            .map(|&x| (x.to_f64() - mb) * (x.to_f64() - mb))
                            .sum()
                    } else {
                        squared_deviations(v, mb)
                    };
                    let (n2, m, m2) =
                        chan(self.count[o], self.mean[o], self.m2[o], n as f64, mb, m2b);
                    self.count[o] = n2;
                    self.mean[o] = m;
                    self.m2[o] = m2;
                } else {
                    for (k, &x) in v.iter().enumerate() {
                        if skip && x.is_nan() {
                            continue;
                        }
                        let t = o + k;
                        let xf = x.to_f64();
                        let n = self.count[t] + 1.0;
                        let d = xf - self.mean[t];
                        self.mean[t] += d / n;
                        self.m2[t] += d * (xf - self.mean[t]);
                        self.count[t] = n;
                    }
                }
            }
            Any => {
                if s == 0 {
                    self.flag[o] |= v.iter().any(|&x| x != zero);
                } else {
                    for (a, &x) in self.flag[o..o + v.len()].iter_mut().zip(v) {
                        *a |= x != zero;
                    }
                }
            }
            All => {
                if s == 0 {
                    self.flag[o] &= v.iter().all(|&x| x != zero);
                } else {
                    for (a, &x) in self.flag[o..o + v.len()].iter_mut().zip(v) {
                        *a &= x != zero;
                    }
                }
            }
            ArgMin | ArgMax => {
                let min = self.kind == ArgMin;
                for (k, &x) in v.iter().enumerate() {
                    let t = o + k * s;
                    if arg_better(x, self.val[t], self.int[t], min) {
                        self.val[t] = x;
                        self.int[t] = (io + k as u64 * is) as i64;
                    }
                }
            }
            CountNonzero => {
                if s == 0 {
                    self.int[o] += v.iter().filter(|&&x| x != zero).count() as i64;
                } else {
                    for (a, &x) in self.int[o..o + v.len()].iter_mut().zip(v) {
                        *a += i64::from(x != zero);
                    }
                }
            }
        }
    }

    /// Merges `other` (covering later elements) into `self`, position by position.
    fn merge(&mut self, other: &Acc<W>) {
        use ReduceKind::*;
        match self.kind {
            Sum | NanSum => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = a.add(b)),
            Prod => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = a.mul(b)),
            Min => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = a.minimum(b)),
            Max => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = a.maximum(b)),
            NanMin => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = nan_pick(*a, b, true)),
            NanMax => self
                .val
                .iter_mut()
                .zip(&other.val)
                .for_each(|(a, &b)| *a = nan_pick(*a, b, false)),
            Mean | NanMean => {
                self.count
                    .iter_mut()
                    .zip(&other.count)
                    .for_each(|(a, &b)| *a += b);
                self.mean
                    .iter_mut()
                    .zip(&other.mean)
                    .for_each(|(a, &b)| *a += b);
            }
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => {
                for t in 0..self.count.len() {
                    let (n, m, m2) = chan(
                        self.count[t],
                        self.mean[t],
                        self.m2[t],
                        other.count[t],
                        other.mean[t],
                        other.m2[t],
                    );
                    self.count[t] = n;
                    self.mean[t] = m;
                    self.m2[t] = m2;
                }
            }
            Any => self
                .flag
                .iter_mut()
                .zip(&other.flag)
                .for_each(|(a, &b)| *a |= b),
            All => self
                .flag
                .iter_mut()
                .zip(&other.flag)
                .for_each(|(a, &b)| *a &= b),
            ArgMin | ArgMax => {
                let min = self.kind == ArgMin;
                for t in 0..self.val.len() {
                    if other.int[t] >= 0 && arg_better(other.val[t], self.val[t], self.int[t], min)
                    {
                        self.val[t] = other.val[t];
                        self.int[t] = other.int[t];
                    }
                }
            }
            CountNonzero => self
                .int
                .iter_mut()
                .zip(&other.int)
                .for_each(|(a, &b)| *a += b),
        }
    }

    /// Which fields a partial of this kind carries (decided by the kind, so partials of an
    /// empty output keep their fields).
    fn fields(kind: ReduceKind) -> Acc<W> {
        Acc::new(kind, 1)
    }

    fn encode(&self, shape: &[usize]) -> Result<Bytes, ArrayError> {
        let used = Self::fields(self.kind);
        let mut parts = Vec::new();
        if !used.val.is_empty() {
            parts.push(encode_values(shape, &self.val)?);
        }
        for (f, u) in [
            (&self.count, &used.count),
            (&self.mean, &used.mean),
            (&self.m2, &used.m2),
        ] {
            if !u.is_empty() {
                parts.push(encode_values(shape, f)?);
            }
        }
        if !used.flag.is_empty() {
            parts.push(encode_values(shape, &self.flag)?);
        }
        if !used.int.is_empty() {
            parts.push(encode_values(shape, &self.int)?);
        }
        Ok(encode_bundle(&parts))
    }

    fn decode(kind: ReduceKind, bytes: &[u8]) -> Result<(Acc<W>, Vec<usize>), ArrayError> {
        let parts = decode_bundle(bytes)?;
        let first = parts
            .first()
            .ok_or_else(|| ArrayError::Decode("empty partial".into()))?;
        let shape = decode_chunk(first)?.shape;
        let len: usize = shape.iter().product();
        let mut acc = Acc::<W>::new(kind, len);
        let used = Self::fields(kind);
        let mut it = parts.into_iter();
        let mut next = || -> Result<crate::array::ChunkView<'_>, ArrayError> {
            let p = it.next().ok_or_else(|| {
                ArrayError::Decode(format!("{} partial is missing a field", kind.name()))
            })?;
            let v = decode_chunk(p)?;
            if v.values.len() != len {
                return Err(ArrayError::Decode(format!(
                    "partial field has {} values, expected {len}",
                    v.values.len()
                )));
            }
            Ok(v)
        };
        fn take<T: crate::array::Element>(
            v: crate::array::ChunkView<'_>,
            name: &str,
        ) -> Result<Vec<T>, ArrayError> {
            v.slice::<T>().map(<[T]>::to_vec).ok_or_else(|| {
                ArrayError::Decode(format!("partial field {name} has dtype {}", v.dtype()))
            })
        }
        if !used.val.is_empty() {
            acc.val = take::<W>(next()?, "value")?;
        }
        if !used.count.is_empty() {
            acc.count = take::<f64>(next()?, "count")?;
        }
        if !used.mean.is_empty() {
            acc.mean = take::<f64>(next()?, "mean")?;
        }
        if !used.m2.is_empty() {
            acc.m2 = take::<f64>(next()?, "m2")?;
        }
        if !used.flag.is_empty() {
            acc.flag = take::<bool>(next()?, "flag")?;
        }
        if !used.int.is_empty() {
            acc.int = take::<i64>(next()?, "index")?;
        }
        Ok((acc, shape))
    }

    fn finish(&self, input: DType, out: DType, shape: &[usize]) -> Result<Bytes, ArrayError> {
        use ReduceKind::*;
        let len: usize = shape.iter().product();
        let mut w = ChunkWriter::new(out, shape)?;
        let mut block = Block::new(out, len);
        let ratio = |ddof: f64, sqrt: bool| -> Vec<f64> {
            (0..len)
                .map(|t| {
                    let v = self.m2[t] / (self.count[t] - ddof).max(0.0);
                    let v = if self.count[t] == 0.0 { f64::NAN } else { v };
                    if sqrt {
                        v.sqrt()
                    } else {
                        v
                    }
                })
                .collect()
        };
        let floats: Option<Vec<f64>> = match self.kind {
            Mean | NanMean => Some((0..len).map(|t| self.mean[t] / self.count[t]).collect()),
            Var { ddof } | NanVar { ddof } => Some(ratio(ddof, false)),
            Std { ddof } | NanStd { ddof } => Some(ratio(ddof, true)),
            _ => None,
        };
        match (self.kind, floats) {
            (_, Some(f)) => math::cast(Slice::F64(&f), &mut block),
            (Any | All, _) => math::cast(Slice::Bool(&self.flag), &mut block),
            (ArgMin | ArgMax | CountNonzero, _) => math::cast(Slice::I64(&self.int), &mut block),
            (Min | Max | NanMin | NanMax, _) if input == DType::Bool => {
                let b: Vec<bool> = self.val.iter().map(|&x| x != W::default()).collect();
                math::cast(Slice::Bool(&b), &mut block)
            }
            _ => math::cast(W::to_slice(&self.val), &mut block),
        }
        with_slice!(block.slice(len), s => w.write(0, s))?;
        Ok(w.finish())
    }
}

trait ToSlice: Sized {
    fn to_slice(v: &[Self]) -> Slice<'_>;
}
impl ToSlice for f64 {
    fn to_slice(v: &[f64]) -> Slice<'_> {
        Slice::F64(v)
    }
}
impl ToSlice for i64 {
    fn to_slice(v: &[i64]) -> Slice<'_> {
        Slice::I64(v)
    }
}

fn partial_typed<W: Wide>(args: &PartialArgs, inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    let slices: Vec<Slice<'_>> = views.iter().map(|v| Slice::of_values(&v.values)).collect();
    let mut ev = Evaluator::new(&args.program, &args.shape, &args.maps, slices)
        .map_err(ArrayError::Compute)?;
    let pshape: Vec<usize> = args
        .shape
        .iter()
        .zip(&args.reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let acc_map = Strided::row_major(&pshape, &args.reduced);
    let layout = Layout::new(&args.shape, &[acc_map, args.index.clone()]);
    let plen: usize = pshape.iter().product();
    let mut acc = Acc::<W>::new(args.kind, plen);
    let (s0, s1) = (layout.inner_stride(0) as usize, layout.inner_stride(1));
    let total = ev.total();
    let mut tmp = Block::new(W::DTYPE, BLOCK_ELEMS.min(total.max(1)));
    let mut p = 0;
    while p < total {
        let n = BLOCK_ELEMS.min(total - p);
        let vals = ev.eval(p, n).map_err(ArrayError::Compute)?;
        let wide: &[W] = match W::slice_of(vals) {
            Some(w) => w,
            None => {
                math::cast(vals, &mut tmp);
                W::slice_of(tmp.slice(n))
                    .ok_or_else(|| ArrayError::Compute("wide conversion".into()))?
            }
        };
        layout.for_each_segment(p, n, |q, m, offs| {
            acc.segment(&wide[q - p..q - p + m], offs[0] as usize, s0, offs[1], s1);
        });
        p += n;
    }
    acc.encode(&pshape)
}

/// `Σ (x - mean)²` with four independent accumulators (so the additions pipeline).
fn squared_deviations<W: Wide>(v: &[W], mean: f64) -> f64 {
    let mut lanes = [0.0f64; 4];
    let mut quads = v.chunks_exact(4);
    for q in &mut quads {
        for (lane, &x) in lanes.iter_mut().zip(q) {
            let d = x.to_f64() - mean;
            *lane += d * d;
        }
    }
    let tail: f64 = quads
        .remainder()
        .iter()
        .map(|&x| (x.to_f64() - mean) * (x.to_f64() - mean))
        .sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// Kernel: one partial from one input chunk (running the fused program feeding it).
pub(crate) fn partial_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: PartialArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("reduce arguments: {e}")))?;
    if args.reduced.len() != args.shape.len() || args.index.strides.len() != args.shape.len() {
        return Err(ArrayError::Decode(
            "reduce arguments do not match the chunk's axes".into(),
        ));
    }
    match args.wide {
        DType::F64 => partial_typed::<f64>(&args, inputs),
        _ => partial_typed::<i64>(&args, inputs),
    }
}

fn combine_typed<W: Wide>(args: &CombineArgs, inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let mut it = inputs.iter();
    let first = it
        .next()
        .ok_or_else(|| ArrayError::Compute("combine without inputs".into()))?;
    let (mut acc, shape) = Acc::<W>::decode(args.kind, first)?;
    for b in it {
        let (other, s) = Acc::<W>::decode(args.kind, b)?;
        if s != shape {
            return Err(ArrayError::Compute(format!(
                "partials of shapes {shape:?} and {s:?}"
            )));
        }
        acc.merge(&other);
    }
    match &args.finish {
        None => acc.encode(&shape),
        Some((input, out, out_shape)) => {
            if out_shape.iter().product::<usize>() != shape.iter().product::<usize>() {
                return Err(ArrayError::Compute(format!(
                    "partial of shape {shape:?} for output chunk {out_shape:?}"
                )));
            }
            acc.finish(*input, *out, out_shape)
        }
    }
}

/// Kernel: merges partials; the final one also produces the output chunk.
pub(crate) fn combine_kernel(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: CombineArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("combine arguments: {e}")))?;
    match args.wide {
        DType::F64 => combine_typed::<f64>(&args, inputs),
        _ => combine_typed::<i64>(&args, inputs),
    }
}
