//! Elementwise operations on arrays: arithmetic, comparisons, logic, math functions, `where`,
//! `astype`, with NumPy broadcasting, weak scalars and dtype promotion.
//!
//! Operands with different chunkings are re-cut to the common refinement of their blocks;
//! elementwise and generator operands re-cut for free (they fuse), others get a rechunk. This
//! module builds graph nodes only; it must not compute.

use std::ops;

use crate::array::array::Array;
use crate::array::dtype::{DType, Scalar};
use crate::array::error::ArrayError;
use crate::array::grid::{common_blocks, ChunkGrid};
use crate::array::node::{Node, NodeRef, Op};
use crate::array::ops::{BinaryOp, UnaryOp};
use crate::array::program::Generator;

/// One operand of an elementwise operation: an array or a scalar.
#[derive(Clone, Debug)]
pub enum Operand {
    /// An array.
    Array(Array),
    /// A weak scalar.
    Scalar(Scalar),
}

impl From<Array> for Operand {
    fn from(a: Array) -> Self {
        Operand::Array(a)
    }
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Self {
        Operand::Array(a.clone())
    }
}

impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Self {
        Operand::Scalar(s)
    }
}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(x: $t) -> Self {
                Operand::Scalar(Scalar::from(x))
            }
        }
    )*};
}
scalar_operand!(f64, f32, i64, i32, u8, bool);

/// The shape two shapes broadcast to (NumPy rules, aligned from the last axis).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ArrayError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(ArrayError::Broadcast {
                left: a.to_vec(),
                right: b.to_vec(),
                axis: n - 1 - i,
                a: da,
                b: db,
            });
        };
    }
    Ok(out)
}

/// `node` re-cut to `blocks` (one list per axis of `node`).
pub(crate) fn regrid(node: &NodeRef, blocks: Vec<Vec<usize>>) -> Result<NodeRef, ArrayError> {
    if node.grid.all_blocks() == blocks.as_slice() {
        return Ok(node.clone());
    }
    let grid = ChunkGrid::from_blocks(&node.shape, blocks)?;
    let child_blocks = |child: &NodeRef| -> Vec<Vec<usize>> {
        let off = node.ndim() - child.ndim();
        (0..child.ndim())
            .map(|j| {
                if child.shape[j] == 1 {
                    vec![1]
                } else {
                    grid.blocks(j + off).to_vec()
                }
            })
            .collect()
    };
    let op = match &node.op {
        Op::Generate(g) => Op::Generate(g.clone()),
        Op::Unary { op, x } => Op::Unary {
            op: *op,
            x: regrid(x, child_blocks(x))?,
        },
        Op::Cast { x } => Op::Cast {
            x: regrid(x, child_blocks(x))?,
        },
        Op::Binary { op, a, b } => Op::Binary {
            op: *op,
            a: regrid(a, child_blocks(a))?,
            b: regrid(b, child_blocks(b))?,
        },
        Op::Where { cond, a, b } => Op::Where {
            cond: regrid(cond, child_blocks(cond))?,
            a: regrid(a, child_blocks(a))?,
            b: regrid(b, child_blocks(b))?,
        },
        _ => Op::Rechunk { x: node.clone() },
    };
    Ok(Node::new(op, node.dtype, node.shape.clone(), grid))
}

/// The broadcast shape of `nodes` and the nodes re-cut to one common chunking.
pub(crate) fn unify(
    nodes: &[NodeRef],
) -> Result<(Vec<usize>, ChunkGrid, Vec<NodeRef>), ArrayError> {
    let mut shape: Vec<usize> = Vec::new();
    for n in nodes {
        shape = broadcast_shapes(&shape, &n.shape)?;
    }
    let nd = shape.len();
    let mut blocks: Vec<Vec<usize>> = Vec::with_capacity(nd);
    for (i, &len) in shape.iter().enumerate() {
        let mut acc: Option<Vec<usize>> = None;
        for n in nodes {
            let off = nd - n.ndim();
            if i < off || n.shape[i - off] == 1 && len != 1 {
                continue;
            }
            let b = n.grid.blocks(i - off);
            acc = Some(match acc {
                None => b.to_vec(),
                Some(a) => common_blocks(&a, b),
            });
        }
        blocks.push(acc.unwrap_or_else(|| vec![len]));
    }
    let grid = ChunkGrid::from_blocks(&shape, blocks)?;
    let regridded = nodes
        .iter()
        .map(|n| {
            let off = nd - n.ndim();
            let b = (0..n.ndim())
                .map(|j| {
                    if n.shape[j] == 1 {
                        vec![1]
                    } else {
                        grid.blocks(j + off).to_vec()
                    }
                })
                .collect();
            regrid(n, b)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((shape, grid, regridded))
}

fn scalar_node(value: Scalar, dtype: DType) -> NodeRef {
    Node::new(
        Op::Generate(Generator::Full(value)),
        dtype,
        vec![],
        ChunkGrid::single(&[]),
    )
}

fn cast_node(node: &NodeRef, dtype: DType) -> NodeRef {
    if node.dtype == dtype {
        return node.clone();
    }
    if let Op::Generate(Generator::Full(v)) = &node.op {
        return Node::new(
            Op::Generate(Generator::Full(*v)),
            dtype,
            node.shape.clone(),
            node.grid.clone(),
        );
    }
    Node::new(
        Op::Cast { x: node.clone() },
        dtype,
        node.shape.clone(),
        node.grid.clone(),
    )
}

/// The node of an operand in `dtype`.
fn operand_node(op: &Operand, dtype: DType) -> NodeRef {
    match op {
        Operand::Array(a) => cast_node(a.node(), dtype),
        Operand::Scalar(s) => scalar_node(*s, dtype),
    }
}

/// The dtype operands promote to (weak scalars per NEP 50).
fn common_dtype(ops: &[&Operand]) -> Result<DType, ArrayError> {
    let arrays: Vec<DType> = ops
        .iter()
        .filter_map(|o| match o {
            Operand::Array(a) => Some(a.dtype()),
            Operand::Scalar(_) => None,
        })
        .collect();
    let mut d = match arrays.first() {
        Some(&d) => arrays.iter().fold(d, |acc, &x| acc.promote(x)),
        None => {
            return Err(ArrayError::InvalidParameter {
                name: "operands",
                reason: "at least one operand must be an array".into(),
            })
        }
    };
    for o in ops {
        if let Operand::Scalar(s) = o {
            d = d.promote_scalar(*s);
        }
    }
    Ok(d)
}

impl Array {
    /// `op(self, other)` with broadcasting and promotion.
    pub fn binary(&self, op: BinaryOp, other: impl Into<Operand>) -> Result<Array, ArrayError> {
        binary(op, &Operand::from(self), &other.into())
    }

    /// `op(a, b)` where either operand may be a weak scalar (at least one must be an array).
    ///
    /// ```
    /// use tessera::array::{Array, BinaryOp, DType};
    /// let x = Array::arange(1, 4, 1, DType::I64, 2).unwrap();
    /// let y = Array::binary_op(BinaryOp::Sub, 10, &x).unwrap();
    /// assert_eq!(y.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[9, 8, 7]);
    /// ```
    pub fn binary_op(
        op: BinaryOp,
        a: impl Into<Operand>,
        b: impl Into<Operand>,
    ) -> Result<Array, ArrayError> {
        binary(op, &a.into(), &b.into())
    }

    /// `op(self)`.
    pub fn unary(&self, op: UnaryOp) -> Result<Array, ArrayError> {
        let x = self.node();
        let Some((operand, result)) = op.typing(x.dtype)? else {
            return Ok(self.clone());
        };
        if matches!(op, UnaryOp::IsNan | UnaryOp::IsFinite | UnaryOp::IsInf) && !x.dtype.is_float()
        {
            let v = Scalar::Bool(op == UnaryOp::IsFinite);
            return Ok(Array::from_node(Node::new(
                Op::Generate(Generator::Full(v)),
                DType::Bool,
                x.shape.clone(),
                x.grid.clone(),
            )));
        }
        let xin = cast_node(x, operand);
        Ok(Array::from_node(Node::new(
            Op::Unary { op, x: xin },
            result,
            x.shape.clone(),
            x.grid.clone(),
        )))
    }

    /// Conversion to `dtype` (NumPy's `astype`: floats to integers truncate and saturate,
    /// NaN becomes 0; non-zero becomes true).
    pub fn astype(&self, dtype: DType) -> Array {
        Array::from_node(cast_node(self.node(), dtype))
    }

    /// `cond ? a : b` elementwise with broadcasting (`cond` non-zero is true).
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let x = Array::arange(0, 6, 1, DType::I64, 4).unwrap();
    /// let y = Array::where_(&x.gt(2).unwrap(), &x, -1).unwrap();
    /// assert_eq!(y.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[-1, -1, -1, 3, 4, 5]);
    /// ```
    pub fn where_(
        cond: &Array,
        a: impl Into<Operand>,
        b: impl Into<Operand>,
    ) -> Result<Array, ArrayError> {
        let (a, b) = (a.into(), b.into());
        let d = match (&a, &b) {
            (Operand::Scalar(x), Operand::Scalar(y)) => {
                x.default_dtype().promote(y.default_dtype())
            }
            _ => common_dtype(&[&a, &b])?,
        };
        let c = cast_node(cond.node(), DType::Bool);
        let nodes = [c, operand_node(&a, d), operand_node(&b, d)];
        let (shape, grid, n) = unify(&nodes)?;
        Ok(Array::from_node(Node::new(
            Op::Where {
                cond: n[0].clone(),
                a: n[1].clone(),
                b: n[2].clone(),
            },
            d,
            shape,
            grid,
        )))
    }

    /// Values limited to `[lo, hi]` (NaN stays NaN); where `lo > hi` the result is `hi`, as
    /// NumPy's `minimum(maximum(x, lo), hi)`. Integer scalar bounds outside the array's dtype
    /// are clamped to it where they cannot bind (a lower bound below its minimum, an upper
    /// bound above its maximum); the others are an overflow error, as in NumPy 2.
    pub fn clip(
        &self,
        lo: impl Into<Operand>,
        hi: impl Into<Operand>,
    ) -> Result<Array, ArrayError> {
        self.clip_bounds(Some(lo.into()), Some(hi.into()))
    }

    /// [`Array::clip`] with either bound optional.
    pub fn clip_bounds(
        &self,
        lo: Option<Operand>,
        hi: Option<Operand>,
    ) -> Result<Array, ArrayError> {
        let bound = |o: Operand, lower: bool| match (o, self.dtype().int_range()) {
            (Operand::Scalar(Scalar::Int(v)), Some((min, max)))
                if (lower && v < min) || (!lower && v > max) =>
            {
                Operand::Scalar(Scalar::Int(v.clamp(min, max)))
            }
            (o, _) => o,
        };
        let mut out = self.clone();
        if let Some(lo) = lo {
            out = out.maximum(bound(lo, true))?;
        }
        if let Some(hi) = hi {
            out = out.minimum(bound(hi, false))?;
        }
        Ok(out)
    }

    /// NumPy's `isclose`: `|a - b| <= atol + rtol·|b|` where both are finite, equality
    /// otherwise (so infinities of one sign are close); NaN is close to NaN with `equal_nan`.
    pub fn isclose(
        &self,
        other: impl Into<Operand>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Result<Array, ArrayError> {
        let other = other.into();
        let a = self.astype(DType::F64);
        let b = Operand::Array(match &other {
            Operand::Array(o) => o.astype(DType::F64),
            Operand::Scalar(s) => Array::scalar(Scalar::Float(s.as_f64())),
        });
        let diff = a.sub(b.clone())?.abs()?;
        let bound = Array::binary_op(BinaryOp::Mul, b.clone(), rtol)?
            .abs()?
            .add(atol)?;
        let near = diff.le(&bound)?;
        let finite = a
            .isfinite()?
            .logical_and(&Array::binary_op(BinaryOp::Mul, b.clone(), 1.0)?.isfinite()?)?;
        let equal = a.eq(b.clone())?;
        let mut close = Array::where_(&finite, &near, &equal)?;
        if equal_nan {
            let both_nan = a
                .isnan()?
                .logical_and(&Array::binary_op(BinaryOp::Mul, b, 1.0)?.isnan()?)?;
            close = close.logical_or(&both_nan)?;
        }
        Ok(close)
    }

    /// NaN replaced by 0 and infinities by the largest finite values of the dtype.
    pub fn nan_to_num(&self) -> Result<Array, ArrayError> {
        let (lo, hi) = if self.dtype() == DType::F32 {
            (f64::from(f32::MIN), f64::from(f32::MAX))
        } else {
            (f64::MIN, f64::MAX)
        };
        self.nan_to_num_with(0.0, hi, lo)
    }

    /// NaN, +inf and -inf replaced by the given values.
    pub fn nan_to_num_with(&self, nan: f64, posinf: f64, neginf: f64) -> Result<Array, ArrayError> {
        self.unary(UnaryOp::NanToNum {
            nan,
            posinf,
            neginf,
        })
    }
}

/// A Python integer outside the range of the integer dtype it meets (NumPy 2): comparisons
/// are exact (a constant result), true division converts it to float, anything else is an
/// overflow error. `Ok(None)`: every scalar fits.
fn out_of_range_scalar(
    op: BinaryOp,
    a: &Operand,
    b: &Operand,
    common: DType,
) -> Result<Option<Array>, ArrayError> {
    let Some((min, max)) = common.int_range() else {
        return Ok(None);
    };
    let (value, array, scalar_left) = match (a, b) {
        (Operand::Scalar(Scalar::Int(v)), Operand::Array(x)) => (*v, x, true),
        (Operand::Array(x), Operand::Scalar(Scalar::Int(v))) => (*v, x, false),
        _ => return Ok(None),
    };
    if (min..=max).contains(&value) || op == BinaryOp::Div {
        return Ok(None);
    }
    if !op.is_comparison() {
        return Err(ArrayError::ScalarOutOfBounds {
            value,
            dtype: common,
        });
    }
    // `array op value` with the value beyond every element (or `value op array`, mirrored).
    let above = value > max;
    let op = if scalar_left {
        match op {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::Le => BinaryOp::Ge,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::Ge => BinaryOp::Le,
            other => other,
        }
    } else {
        op
    };
    let truth = match op {
        BinaryOp::Ne => true,
        BinaryOp::Lt | BinaryOp::Le => above,
        BinaryOp::Gt | BinaryOp::Ge => !above,
        _ => false,
    };
    let x = array.node();
    Ok(Some(Array::from_node(Node::new(
        Op::Generate(Generator::Full(Scalar::Bool(truth))),
        DType::Bool,
        x.shape.clone(),
        x.grid.clone(),
    ))))
}

fn binary(op: BinaryOp, a: &Operand, b: &Operand) -> Result<Array, ArrayError> {
    let common = common_dtype(&[a, b])?;
    if let Some(constant) = out_of_range_scalar(op, a, b, common)? {
        return Ok(constant);
    }
    let (operand, result) = op.typing(common)?;
    let nodes = [operand_node(a, operand), operand_node(b, operand)];
    let (shape, grid, n) = unify(&nodes)?;
    Ok(Array::from_node(Node::new(
        Op::Binary {
            op,
            a: n[0].clone(),
            b: n[1].clone(),
        },
        result,
        shape,
        grid,
    )))
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Array {
            $(
                $(#[$doc])*
                pub fn $name(&self, other: impl Into<Operand>) -> Result<Array, ArrayError> {
                    self.binary($op, other)
                }
            )*
        }
    };
}

binary_methods! {
    /// `self + other`.
    add => BinaryOp::Add;
    /// `self - other`.
    sub => BinaryOp::Sub;
    /// `self * other`.
    mul => BinaryOp::Mul;
    /// True division `self / other` (integers give float64).
    div => BinaryOp::Div;
    /// Floor division `self // other`.
    floor_div => BinaryOp::FloorDiv;
    /// `self % other` with the sign of `other`.
    rem => BinaryOp::Rem;
    /// `self ** other`.
    pow => BinaryOp::Pow;
    /// Elementwise minimum (NaN-propagating).
    minimum => BinaryOp::Minimum;
    /// Elementwise maximum (NaN-propagating).
    maximum => BinaryOp::Maximum;
    /// `self == other`.
    eq => BinaryOp::Eq;
    /// `self != other`.
    ne => BinaryOp::Ne;
    /// `self < other`.
    lt => BinaryOp::Lt;
    /// `self <= other`.
    le => BinaryOp::Le;
    /// `self > other`.
    gt => BinaryOp::Gt;
    /// `self >= other`.
    ge => BinaryOp::Ge;
    /// Logical and.
    logical_and => BinaryOp::And;
    /// Logical or.
    logical_or => BinaryOp::Or;
    /// Logical exclusive or.
    logical_xor => BinaryOp::Xor;
    /// Bitwise and (logical for bool).
    bitwise_and => BinaryOp::BitAnd;
    /// Bitwise or (logical for bool).
    bitwise_or => BinaryOp::BitOr;
    /// Bitwise exclusive or (logical for bool).
    bitwise_xor => BinaryOp::BitXor;
    /// NumPy's `arctan2`.
    arctan2 => BinaryOp::Arctan2;
    /// NumPy's `hypot`.
    hypot => BinaryOp::Hypot;
    /// NumPy's `fmod`.
    fmod => BinaryOp::Fmod;
    /// NumPy's `float_power`.
    float_power => BinaryOp::FloatPower;

}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Array {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Result<Array, ArrayError> {
                    self.unary($op)
                }
            )*
        }
    };
}

unary_methods! {
    /// `-self`.
    neg => UnaryOp::Neg;
    /// `|self|`.
    abs => UnaryOp::Abs;
    /// Square root.
    sqrt => UnaryOp::Sqrt;
    /// Exponential.
    exp => UnaryOp::Exp;
    /// Natural logarithm.
    log => UnaryOp::Log;
    /// Base-10 logarithm.
    log10 => UnaryOp::Log10;
    /// Sine.
    sin => UnaryOp::Sin;
    /// Cosine.
    cos => UnaryOp::Cos;
    /// Tangent.
    tan => UnaryOp::Tan;
    /// Hyperbolic tangent.
    tanh => UnaryOp::Tanh;
    /// Round down.
    floor => UnaryOp::Floor;
    /// Round up.
    ceil => UnaryOp::Ceil;
    /// Round half to even.
    round => UnaryOp::Round;
    /// Logical not.
    logical_not => UnaryOp::Not;
    /// Bitwise not (logical for bool).
    invert => UnaryOp::Invert;
    /// NumPy's `sign`.
    sign => UnaryOp::Sign;
    /// NumPy's `square`.
    square => UnaryOp::Square;
    /// NumPy's `cbrt`.
    cbrt => UnaryOp::Cbrt;
    /// NumPy's `log1p`.
    log1p => UnaryOp::Log1p;
    /// NumPy's `expm1`.
    expm1 => UnaryOp::Expm1;
    /// NumPy's `log2`.
    log2 => UnaryOp::Log2;
    /// NumPy's `exp2`.
    exp2 => UnaryOp::Exp2;
    /// NumPy's `arcsin`.
    arcsin => UnaryOp::Arcsin;
    /// NumPy's `arccos`.
    arccos => UnaryOp::Arccos;
    /// NumPy's `arctan`.
    arctan => UnaryOp::Arctan;
    /// NumPy's `sinh`.
    sinh => UnaryOp::Sinh;
    /// NumPy's `cosh`.
    cosh => UnaryOp::Cosh;
    /// NumPy's `arcsinh`.
    arcsinh => UnaryOp::Arcsinh;
    /// NumPy's `arccosh`.
    arccosh => UnaryOp::Arccosh;
    /// NumPy's `arctanh`.
    arctanh => UnaryOp::Arctanh;
    /// NumPy's `trunc`.
    trunc => UnaryOp::Trunc;
    /// NumPy's `deg2rad`.
    deg2rad => UnaryOp::Deg2rad;
    /// NumPy's `rad2deg`.
    rad2deg => UnaryOp::Rad2deg;
    /// NumPy's `isinf`.
    isinf => UnaryOp::IsInf;

    /// True where NaN.
    isnan => UnaryOp::IsNan;
    /// True where finite.
    isfinite => UnaryOp::IsFinite;
}

macro_rules! operator {
    ($tr:ident, $method:ident, $op:expr) => {
        impl<T: Into<Operand>> ops::$tr<T> for &Array {
            type Output = Result<Array, ArrayError>;
            fn $method(self, rhs: T) -> Self::Output {
                self.binary($op, rhs)
            }
        }
        impl<T: Into<Operand>> ops::$tr<T> for Array {
            type Output = Result<Array, ArrayError>;
            fn $method(self, rhs: T) -> Self::Output {
                self.binary($op, rhs)
            }
        }
        operator!(@scalar_lhs $tr, $method, $op, f64, f32, i64, i32, u8);
    };
    (@scalar_lhs $tr:ident, $method:ident, $op:expr, $($t:ty),*) => {$(
        impl ops::$tr<&Array> for $t {
            type Output = Result<Array, ArrayError>;
            fn $method(self, rhs: &Array) -> Self::Output {
                binary($op, &Operand::from(self), &Operand::from(rhs))
            }
        }
    )*};
}

operator!(Add, add, BinaryOp::Add);
operator!(Sub, sub, BinaryOp::Sub);
operator!(Mul, mul, BinaryOp::Mul);
operator!(Div, div, BinaryOp::Div);
operator!(Rem, rem, BinaryOp::Rem);

impl ops::Neg for &Array {
    type Output = Result<Array, ArrayError>;
    fn neg(self) -> Self::Output {
        self.unary(UnaryOp::Neg)
    }
}
